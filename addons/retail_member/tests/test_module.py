# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import random
import unittest
from decimal import Decimal
from io import BytesIO

from trytond.exceptions import UserError
from trytond.model.exceptions import (
    DomainValidationError,
    RequiredValidationError,
    SQLConstraintError,
)
from trytond.modules.company.tests import CompanyTestMixin, create_company, set_company
from trytond.modules.retail_member.exceptions import (
    CardUnusableError,
    IdentifyError,
    MemberValidationError,
)
from trytond.modules.retail_member.tools import mask_mobile, normalize_mobile, parse_qr, qr_payload
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, ModuleTestCase, with_transaction
from trytond.transaction import Transaction, inactive_records

from .tools import make_sheet, read_sheet


class ToolsTestCase(unittest.TestCase):
    "Test the pure helpers"

    def test_normalize_mobile(self):
        "Every common way of typing a Chinese mobile gives E.164"
        for value in [
                '13812345678', '138 1234 5678', '138-1234-5678',
                '+86 138 1234 5678', '+8613812345678', '8613812345678',
                '0086 138 1234 5678', ' 13812345678 ']:
            with self.subTest(value=value):
                self.assertEqual(normalize_mobile(value), '+8613812345678')

    def test_normalize_mobile_invalid(self):
        "Malformed numbers and fixed lines are refused"
        for value in [
                '', None, '12345', 'abc', '1381234567', '138123456789',
                '010 1234 5678', '+86 10 1234 5678']:
            with self.subTest(value=value):
                self.assertIsNone(normalize_mobile(value))

    def test_normalize_mobile_foreign(self):
        "A foreign mobile in international format is kept"
        self.assertEqual(
            normalize_mobile('+852 5123 4567'), '+85251234567')

    def test_normalize_mobile_fast_path(self):
        "Bare 11-digit numbers give what phonenumbers itself gives"
        from trytond.modules.retail_member.tools import _normalize_mobile
        rnd = random.Random(11)
        numbers = ['17400012345', '17406012345', '14012345678',
            '16012345678', '19912345678']
        numbers += ['1%d%09d' % (rnd.randint(3, 9), rnd.randint(0, 10**9 - 1))
            for _ in range(5000)]
        for value in numbers:
            with self.subTest(value=value):
                self.assertEqual(
                    normalize_mobile(value), _normalize_mobile(value, 'CN'))

    def test_mask_mobile(self):
        "Only the first 3 and last 4 digits are shown"
        self.assertEqual(mask_mobile('+8613812345678'), '138****5678')
        self.assertEqual(mask_mobile(None), None)
        self.assertNotIn('1234', mask_mobile('+8613812345678'))

    def test_qr(self):
        "The QR payload round-trips and other codes are not QR"
        self.assertEqual(qr_payload('C001'), 'HY:C001')
        self.assertEqual(parse_qr('HY:C001'), 'C001')
        self.assertEqual(parse_qr('hy:C001'), 'C001')
        self.assertIsNone(parse_qr('C001'))
        self.assertIsNone(parse_qr('HY:'))


SHARED_XLSX = {
    '[Content_Types].xml': (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension='
        '"xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'),
    '_rels/.rels': (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    'xl/workbook.xml': (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="S" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>'),
    'xl/_rels/workbook.xml.rels': (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="'
        'http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '</Relationships>'),
    'xl/styles.xml': (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main"><fonts count="1"><font/></fonts><fills count="1"><fill>'
        '<patternFill patternType="none"/></fill></fills><borders count="1">'
        '<border/></borders><cellStyleXfs count='
        '"1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/>'
        '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>'),
    'xl/sharedStrings.xml': (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        'main" count="4" uniqueCount="4"><si><t>姓名</t></si><si><t>手机号'
        '</t></si><si><t>生日</t></si><si><r><t>张</t></r><r><t>三</t></r>'
        '<rPh sb="0" eb="1"><t>zhang</t></rPh></si></sst>'),
    'xl/worksheets/sheet1.xml': (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3"><v>13812345678</v>'
        '</c><c r="C3" s="1"><v>32874</v></c><c r="E3" t="b"><v>1</v></c>'
        '</row><row r="4"><c r="B4" t="str"><v>x</v></c><c r="C4"><v>2.5</v>'
        '</c></row></sheetData></worksheet>'),
    }


class XlsxTestCase(unittest.TestCase):
    "The fast cell reader gives what openpyxl gives"

    def rows(self, data):
        import openpyxl

        from trytond.modules.retail_member.xlsx import iter_rows
        workbook = openpyxl.load_workbook(
            BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            expected = [tuple(v for v in row)
                for row in sheet.iter_rows(values_only=True)]
            return expected, list(iter_rows(sheet))
        finally:
            workbook.close()

    def assertSameRows(self, expected, found):
        "Equal up to trailing empty cells (openpyxl pads to the widest row)"
        def trim(row):
            row = list(row)
            while row and row[-1] is None:
                row.pop()
            return row
        self.assertEqual([trim(r) for r in found],
            [trim(r) for r in expected])

    def test_openpyxl_sheet(self):
        "Inline strings, numbers, dates, booleans, gaps and empty rows"
        data = make_sheet(['会员号', '姓名', '生日', '记名', '金额'], [
                ['M1', '张三', dt.date(1990, 1, 2), True, 12],
                [None, '李四', None, False, 2.5],
                [],
                ['M3', None, dt.datetime(2000, 2, 29, 10, 30), None, None],
                ])
        expected, found = self.rows(data)
        self.assertSameRows(expected, found)
        self.assertEqual(found[1][2], dt.datetime(1990, 1, 2))
        self.assertEqual(found[2][4], 2.5)

    def test_shared_strings(self):
        "A sheet as Excel and WPS write it: shared strings, a date style"
        import zipfile
        output = BytesIO()
        with zipfile.ZipFile(output, 'w') as archive:
            for name, text in SHARED_XLSX.items():
                archive.writestr(name, text)
        expected, found = self.rows(output.getvalue())
        self.assertSameRows(expected, found)
        self.assertEqual(found[0], ('姓名', '手机号', '生日'))
        self.assertEqual(found[1], ())
        self.assertEqual(found[2][0], '张三')
        self.assertEqual(found[2][1], 13812345678)
        self.assertEqual(found[2][2], dt.datetime(1990, 1, 1))
        self.assertIs(found[2][4], True)
        self.assertEqual(found[3], (None, 'x', 2.5))


class RetailMemberTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Retail Member module"
    module = 'retail_member'
    extras = ['sale_point']

    # member_company tells whose member a party is; it is not the owner of
    # the party record: parties that are not members have none and stay
    # visible to every company (the rule on party.party lets them through).
    @property
    def _skip_company_rule(self):
        return super()._skip_company_rule | {
            ('party.party', 'member_company')}

    def test_company_multivalue_context(self):
        "Test context of company multivalue target (but for members)"
        Party = Pool(DB_NAME).get('party.party')
        fields = Party._fields
        try:
            Party._fields = {
                k: v for k, v in fields.items() if k != 'member_company'}
            super().test_company_multivalue_context()
        finally:
            Party._fields = fields

    def _member(self, company, name='Li Lei', **values):
        Party = Pool().get('party.party')
        values.setdefault('is_member', True)
        values.setdefault('member_company', company.id)
        party, = Party.create([dict(name=name, **values)])
        return party

    def _card(self, party, number, **values):
        Card = Pool().get('retail.member.card')
        card, = Card.create([dict(
                    company=party.member_company.id, party=party.id,
                    number=number, **values)])
        return card

    @with_transaction()
    def test_member_number_sequence(self):
        "A member without number is numbered from the sequence"
        company = create_company()
        with set_company(company):
            first = self._member(company)
            second = self._member(company, name='Han Meimei')
            given = self._member(company, name='Wang', member_number='VIP1')
            self.assertTrue(first.member_number)
            self.assertNotEqual(first.member_number, second.member_number)
            self.assertEqual(given.member_number, 'VIP1')
            self.assertEqual(first.join_date, Pool().get('ir.date').today())

    @with_transaction()
    def test_member_number_on_write(self):
        "A party turned into a member gets a number"
        Party = Pool().get('party.party')
        company = create_company()
        with set_company(company):
            party, = Party.create([{'name': 'Customer'}])
            self.assertIsNone(party.member_number)
            Party.write([party], {
                    'is_member': True, 'member_company': company.id})
            self.assertTrue(party.member_number)
            self.assertTrue(party.join_date)

    @with_transaction()
    def test_audit_log_written_at_commit(self):
        """The transaction's log (as Tryton stores it at the commit) keeps
        each record's event, target and user"""
        pool = Pool()
        Party = pool.get('party.party')
        Log = pool.get('ir.model.log')
        transaction = Transaction()
        first, second = Party.create([{'name': 'Li'}, {'name': 'Han'}])
        Party.log([first, second], 'transition', 'state:done')
        Party.log([second], 'button', 'erase')
        transaction._store_log_records()
        logs = Log.search([
                ('resource', 'in', [str(first), str(second)]),
                ], order=[('id', 'ASC')])
        self.assertEqual(
            [(str(log.resource), log.event, log.target, log.user.id)
                for log in logs],
            [(str(first), 'transition', 'state:done', transaction.user),
                (str(second), 'transition', 'state:done', transaction.user),
                (str(second), 'button', 'erase', transaction.user)])
        self.assertTrue(all(log.create_date for log in logs))

    @with_transaction()
    def test_base_language_parent_remembered(self):
        "zh_CN's reads ask for the parent of 'zh' once, not at every read"
        from trytond.ir import lang
        self.assertIsNone(lang.get_parent_language('zh'))
        self.assertIn('zh', lang._parents)
        self.assertEqual(lang.get_parent_language('zh_CN'), 'zh')

    @with_transaction()
    def test_member_requires_company(self):
        "A member must belong to a company"
        Party = Pool().get('party.party')
        with self.assertRaises(RequiredValidationError):
            Party.create([{'name': 'Nobody', 'is_member': True}])

    @with_transaction()
    def test_member_number_unique(self):
        "Two members of a company cannot share a member number"
        company = create_company()
        with set_company(company):
            self._member(company, member_number='M1')
            with self.assertRaises(SQLConstraintError):
                self._member(company, name='Other', member_number='M1')

    @with_transaction()
    def test_mobile_normalised(self):
        "The mobile is stored in E.164 whatever the input format"
        company = create_company()
        with set_company(company):
            party = self._member(company, member_mobile='138 1234 5678')
            self.assertEqual(party.member_mobile, '+8613812345678')
            self.assertEqual(party.member_mobile_masked, '138****5678')
            party.member_mobile = '+86 139-0000-1111'
            party.save()
            self.assertEqual(party.member_mobile, '+8613900001111')

    @with_transaction()
    def test_mobile_invalid(self):
        "A malformed mobile is refused"
        company = create_company()
        with set_company(company):
            with self.assertRaises(MemberValidationError) as cm:
                self._member(company, member_mobile='12345')
            self.assertIn('12345', cm.exception.message)

    @with_transaction()
    def test_mobile_unique_per_company(self):
        "Two members of a company cannot share a mobile"
        company = create_company()
        with set_company(company):
            self._member(company, member_mobile='13812345678')
            with self.assertRaises(SQLConstraintError):
                self._member(
                    company, name='Twin', member_mobile='+8613812345678')

    @with_transaction()
    def test_mobile_shared_between_companies(self):
        "Members of two companies may share a mobile"
        Party = Pool().get('party.party')
        company = create_company()
        other = create_company(name='Other Shop')
        with set_company(company):
            self._member(company, member_mobile='13812345678')
            # parties that are not members have no member mobile
            Party.create([{'name': 'Plain'}, {'name': 'Plain 2'}])
        with set_company(other):
            twin = self._member(
                other, name='Twin', member_mobile='13812345678')
            self.assertEqual(twin.member_mobile, '+8613812345678')

    @with_transaction()
    def test_birth_date_future(self):
        "A birthday in the future is refused"
        company = create_company()
        with set_company(company):
            tomorrow = Pool().get('ir.date').today() + dt.timedelta(days=1)
            with self.assertRaises(MemberValidationError):
                self._member(company, birth_date=tomorrow)
            party = self._member(company, birth_date=dt.date(1990, 5, 4))
            self.assertEqual(party.birth_date, dt.date(1990, 5, 4))

    def _tier(self, **values):
        Tier = Pool().get('retail.member.tier')
        values.setdefault('name', 'Silver')
        values.setdefault('code', 'S')
        values.setdefault('rank', 1)
        tier, = Tier.create([values])
        return tier

    @with_transaction()
    def test_tier_defaults(self):
        "A tier multiplies points by 1 over 365 days by default"
        company = create_company()
        with set_company(company):
            tier = self._tier(discount=Decimal('0.05'))
            self.assertEqual(tier.points_multiplier, 1)
            self.assertEqual(tier.window_days, 365)
            self.assertEqual(tier.discount, Decimal('0.05'))
            self.assertEqual(tier.currency, company.currency)

    @with_transaction()
    def test_tier_rank_unique(self):
        "Two tiers of a company cannot share a rank"
        company = create_company()
        with set_company(company):
            self._tier()
            with self.assertRaises(SQLConstraintError):
                self._tier(code='G')

    @with_transaction()
    def test_tier_code_unique(self):
        "Two tiers of a company cannot share a code"
        company = create_company()
        with set_company(company):
            self._tier()
            with self.assertRaises(SQLConstraintError):
                self._tier(rank=2)

    @with_transaction()
    def test_tier_discount_range(self):
        "The tier discount is a rate between 0 and 1"
        company = create_company()
        with set_company(company):
            self._tier(discount=Decimal('1'))
            for i, discount in enumerate(['1.5', '-0.1'], 2):
                with self.assertRaises(DomainValidationError):
                    self._tier(
                        code=str(i), rank=i, discount=Decimal(discount))

    @with_transaction()
    def test_card_number_unique(self):
        "Two active cards cannot share a number"
        company = create_company()
        with set_company(company):
            self._card(self._member(company), 'C001')
            with self.assertRaises(SQLConstraintError):
                self._card(self._member(company, name='Other'), 'C001')

    @with_transaction()
    def test_card_number_unique_lost(self):
        "A lost card keeps its number"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            card = self._card(self._member(company), 'C001')
            Card.report_lost([card])
            with self.assertRaises(SQLConstraintError):
                self._card(self._member(company, name='Other'), 'C001')

    @with_transaction()
    def test_card_number_reused_closed(self):
        "The number of a closed card can be issued again, once"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            party = self._member(company)
            card = self._card(party, 'C001')
            Card.close([card])
            reused = self._card(self._member(company, name='Other'), 'C001')
            self.assertEqual(reused.state, 'active')
            self.assertEqual(card.state, 'closed')
            with self.assertRaises(SQLConstraintError):
                self._card(party, 'C001')

    @with_transaction()
    def test_card_delete_refused(self):
        "A card is closed, never deleted"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            card = self._card(self._member(company), 'C001')
            with self.assertRaises(UserError):
                Card.delete([card])

    @with_transaction()
    def test_check_usable(self):
        "Only an active card is usable"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            card = self._card(self._member(company), 'C001')
            card.check_usable()
            Card.freeze([card])
            with self.assertRaises(CardUnusableError):
                card.check_usable()
            Card.unfreeze([card])
            card.check_usable()

    @with_transaction()
    def test_identify(self):
        "Identify by card, QR, mobile in any format and member number"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            party = self._member(
                company, member_number='M100', member_mobile='13812345678')
            card = self._card(party, '88001')
            self.assertEqual(Card.identify('88001'), (party, card))
            self.assertEqual(Card.identify(' HY:88001 '), (party, card))
            for mobile in [
                    '13812345678', '+86 138 1234 5678', '138-1234-5678']:
                self.assertEqual(Card.identify(mobile), (party, None))
            self.assertEqual(Card.identify('M100'), (party, None))
            self.assertEqual(
                Card.identify('M100', company=company.id), (party, None))

    @with_transaction()
    def test_identify_errors(self):
        "Unknown, empty, lost, frozen, closed and replaced are refused"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            party = self._member(company)
            for code in ['', '  ', 'nothing', 'HY:nothing', '13900000000']:
                with self.subTest(code=code):
                    with self.assertRaises(IdentifyError):
                        Card.identify(code)
            card = self._card(party, '88001')
            Card.report_lost([card])
            with self.assertRaises(CardUnusableError) as cm:
                Card.identify('88001')
            self.assertIn('lost', cm.exception.message)
            with self.assertRaises(CardUnusableError):
                Card.identify('HY:88001')
            Card.recover([card])
            Card.freeze([card])
            with self.assertRaises(CardUnusableError) as cm:
                Card.identify('88001')
            self.assertIn('frozen', cm.exception.message)
            Card.close([card])
            with self.assertRaises(CardUnusableError) as cm:
                Card.identify('88001')
            self.assertIn('closed', cm.exception.message)

    @with_transaction()
    def test_identify_other_company(self):
        "A member of another company is unknown"
        Card = Pool().get('retail.member.card')
        company = create_company()
        other = create_company(name='Other')
        with set_company(other):
            self._card(
                self._member(other, member_mobile='13812345678'), '88001')
        with set_company(company):
            for code in ['88001', '13812345678']:
                with self.assertRaises(IdentifyError):
                    Card.identify(code)
            with self.assertRaises(IdentifyError):
                # not one of the user's companies
                Card.identify('88001', company=other.id)

    @with_transaction()
    def test_identify_ambiguous(self):
        "A code matching two members is ambiguous"
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            first = self._member(company, member_number='13812345678')
            self._member(
                company, name='Other', member_mobile='13812345678')
            with self.assertRaises(IdentifyError) as cm:
                Card.identify('13812345678')
            self.assertIn('Several', cm.exception.message)
            self._card(first, '555')
            self.assertEqual(Card.identify('555')[0], first)

    @with_transaction()
    def test_replace_card(self):
        "Replacing issues a new card to the same member and calls the hook"
        pool = Pool()
        Card = pool.get('retail.member.card')
        company = create_company()
        with set_company(company):
            party = self._member(company)
            card = self._card(party, '88001', medium='magstripe')
            Card.report_lost([card])
            calls = []
            original = Card._replaced.__func__
            try:
                Card._replaced = classmethod(
                    lambda cls, old, new: calls.append((old, new)))
                new = Card.replace_card(card, '88002', medium='rfid')
            finally:
                Card._replaced = classmethod(original)
            self.assertEqual(calls, [(card, new)])
            card = Card(card.id)
            self.assertEqual(card.state, 'replaced')
            self.assertEqual(card.replaced_by, new)
            self.assertEqual(new.replacement_of, card)
            self.assertEqual(new.party, party)
            self.assertEqual(new.medium, 'rfid')
            self.assertEqual(Card.identify('88002'), (party, new))
            with self.assertRaises(CardUnusableError) as cm:
                Card.identify('88001')
            self.assertIn('88002', cm.exception.message)
            with self.assertRaises(UserError):
                Card.replace_card(card, '88003')

    @with_transaction()
    def test_replace_card_same_number(self):
        "A replacement cannot reuse the number of the card it replaces"
        pool = Pool()
        Card = pool.get('retail.member.card')
        company = create_company()
        with set_company(company):
            card = self._card(self._member(company), '88001')
            with self.assertRaises(SQLConstraintError):
                Card.replace_card(card, '88001')

    @with_transaction()
    def test_pos_sale_member(self):
        "The POS sale gets the member of its card"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        company = create_company()
        with set_company(company):
            party = self._member(company)
            card = self._card(party, '88001')
            sale = Sale()
            sale.member_card = card
            sale.on_change_member_card()
            self.assertEqual(sale.member, party)
            sale.member = self._member(company, name='Other')
            sale.on_change_member()
            self.assertIsNone(sale.member_card)

    @with_transaction()
    def test_pos_sale_lost_card(self):
        "A POS sale cannot be done with a card reported lost meanwhile"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Card = pool.get('retail.member.card')
        company = create_company()
        with set_company(company):
            card = self._card(self._member(company), '88001')
            sale = Sale(member_card=card, member=card.party)
            Sale.check_member_cards([sale])
            Card.report_lost([card])
            with self.assertRaises(CardUnusableError):
                Sale.check_member_cards([Sale(member_card=card)])

    @with_transaction()
    def test_search_rec_name_member_number(self):
        "A member is found by its member number"
        Party = Pool().get('party.party')
        company = create_company()
        with set_company(company):
            party = self._member(company, member_number='VIP42')
            self.assertEqual(
                Party.search([('rec_name', '=', 'VIP42')]), [party])
            self.assertIn(
                party, Party.search([('rec_name', 'ilike', '%VIP4%')]))

    def _importer(self, company, header, rows):
        from trytond.modules.retail_member.exchange import MemberImporter
        importer = MemberImporter(company, batch=3)
        importer.read(make_sheet(header, rows))
        importer.check()
        return importer

    def _setup_import(self, company):
        pool = Pool()
        Tier = pool.get('retail.member.tier')
        Shop = pool.get('retail.shop')
        Tier.create([{'name': 'Gold', 'code': 'GOLD', 'rank': 2}])
        Shop.create([{'name': 'Main', 'code': 'SH01'}])

    @with_transaction()
    def test_import(self):
        "Import members with cards, tiers, shops and tags"
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        company = create_company()
        with set_company(company):
            self._setup_import(company)
            header = [
                'member_number', '姓名', 'mobile', 'birth_date', 'gender',
                'tier_code', 'card_number', 'card_medium', 'card_named',
                'shop_code', 'tags', 'consent_sms', 'consent_email',
                'join_date']
            rows = [
                ['V1', '张三', 13812345678, dt.datetime(1990, 5, 4), '女',
                    'GOLD', 88000001, 'rfid', '是', 'SH01', '咖啡, 烘焙',
                    'yes', 0, '2024-01-15'],
                [None, 'Li Lei', '+86 139 0000 1111', '1985/12/01', 'male',
                    None, 'A-2', None, 'no', None, '咖啡', None, True,
                    None],
                [None, 'Han Meimei', None, None, None, None, None, None,
                    None, None, None, None, None, None],
                [None, None, None, None, None, None, None, None, None,
                    None, None, None, None, None],
                ['V4', 'Wang', None, None, 'other', None, None, None, None,
                    None, None, None, None, None],
                ]
            importer = self._importer(company, header, rows)
            self.assertEqual(importer.rejections, [])
            self.assertEqual(len(importer.rows), 4)
            self.assertEqual(importer.create(), 4)

            zhang, = Party.search([('member_number', '=', 'V1')])
            self.assertEqual(zhang.name, '张三')
            self.assertEqual(zhang.member_mobile, '+8613812345678')
            self.assertEqual(zhang.birth_date, dt.date(1990, 5, 4))
            self.assertEqual(zhang.gender, 'female')
            self.assertEqual(zhang.member_tier.code, 'GOLD')
            self.assertEqual(zhang.member_shop.code, 'SH01')
            self.assertEqual(
                sorted(c.name for c in zhang.categories), ['咖啡', '烘焙'])
            self.assertTrue(zhang.consent_sms)
            self.assertFalse(zhang.consent_email)
            self.assertEqual(zhang.join_date, dt.date(2024, 1, 15))
            card, = zhang.member_cards
            self.assertEqual(
                (card.number, card.medium, card.named, card.state),
                ('88000001', 'rfid', True, 'active'))

            li, = Party.search([('name', '=', 'Li Lei')])
            self.assertTrue(li.member_number)
            self.assertEqual(li.member_mobile, '+8613900001111')
            self.assertEqual(li.join_date, Pool().get('ir.date').today())
            card, = li.member_cards
            self.assertEqual(
                (card.number, card.medium, card.named),
                ('A-2', 'magstripe', False))
            self.assertEqual(
                {c.name for c in li.categories}, {'咖啡'})
            self.assertEqual(Card.identify('A-2')[0], li)
            self.assertEqual(Card.identify('13900001111')[0], li)
            self.assertEqual(
                len(Party.search([('is_member', '=', True)])), 4)

    @with_transaction()
    def test_import_rejections(self):
        "Every bad cell is reported with row, column and reason"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            self._setup_import(company)
            existing = self._member(
                company, member_number='OLD', member_mobile='13700000000')
            self._card(existing, 'C-OLD')
            future = Pool().get('ir.date').today() + dt.timedelta(days=3)
            header = [
                'member_number', 'name', 'mobile', 'birth_date', 'gender',
                'tier_code', 'card_number', 'card_medium', 'card_named',
                'shop_code', 'consent_sms', 'join_date']
            rows = [
                ['OK1', 'Good', '13812345678', None, None, 'GOLD', 'C1',
                    None, None, 'SH01', None, None],  # row 2
                [None, None, '12345', future, 'x', 'NOPE', 'C1', 'tape',
                    'maybe', 'SH99', 'perhaps', 'yesterday'],  # row 3
                ['OLD', 'Dup', '+86 138 1234 5678', 'abc', None, None,
                    'C-OLD', None, None, None, None, None],  # row 4
                ['OK1', 'Dup2', '137 0000 0000', None, None, None, None,
                    'rfid', None, None, None, None],  # row 5
                ]
            importer = self._importer(company, header, rows)
            found = {(r.row, r.column) for r in importer.rejections}
            self.assertEqual(found, {
                    (3, 'name'), (3, 'mobile'), (3, 'birth_date'),
                    (3, 'gender'), (3, 'tier_code'), (3, 'card_number'),
                    (3, 'card_medium'), (3, 'card_named'),
                    (3, 'shop_code'), (3, 'consent_sms'), (3, 'join_date'),
                    (4, 'member_number'), (4, 'mobile'), (4, 'birth_date'),
                    (4, 'card_number'),
                    (5, 'member_number'), (5, 'mobile'),
                    (5, 'card_medium'),
                    })
            reasons = {(r.row, r.column): r.reason
                for r in importer.rejections}
            self.assertIn('row 2', reasons[(4, 'mobile')])
            self.assertIn('already', reasons[(5, 'mobile')])
            self.assertIn('future', reasons[(3, 'birth_date')])
            self.assertEqual(
                [r.row for r in importer.rejections],
                sorted(r.row for r in importer.rejections))
            with self.assertRaises(UserError):
                importer.create()
            self.assertEqual(
                Party.search([('is_member', '=', True)]), [existing])

            from trytond.modules.retail_member.exchange import rejections_xlsx
            sheet = read_sheet(rejections_xlsx(importer.rejections))
            self.assertEqual(len(sheet), len(importer.rejections) + 1)
            self.assertEqual(sheet[1][:3], [3, 'name', None])
            self.assertTrue(sheet[1][3])

    @with_transaction()
    def test_import_bad_files(self):
        "A file that is not xlsx or has wrong columns is refused"
        from trytond.modules.retail_member.exchange import MemberImporter
        company = create_company()
        with set_company(company):
            cases = [
                (b'not an excel file', 'not an Excel'),
                (b'PK\x03\x04garbage', 'not an Excel'),
                (make_sheet(['name', 'colour'], [['A', 'red']]),
                    'colour'),
                (make_sheet(['mobile'], [['13812345678']]), 'name'),
                (make_sheet(['name', 'Name'], [['A', 'B']]), 'twice'),
                (make_sheet(['name'], []), 'no member rows'),
                ]
            for data, text in cases:
                with self.subTest(text=text):
                    with self.assertRaises(UserError) as cm:
                        MemberImporter(company).read(data)
                    self.assertIn(text, cm.exception.message)

    @with_transaction()
    def test_export(self):
        "Export writes the import columns, masked on request"
        from trytond.modules.retail_member.exchange import (
            COLUMN_KEYS,
            MemberExporter,
            MemberImporter,
        )
        pool = Pool()
        Category = pool.get('party.category')
        company = create_company()
        with set_company(company):
            self._setup_import(company)
            tag, = Category.create([{'name': 'VIP'}])
            party = self._member(
                company, member_number='M1', member_mobile='13812345678',
                birth_date=dt.date(1990, 1, 2),
                categories=[('add', [tag.id])])
            card = self._card(party, 'C1')
            Pool().get('retail.member.card').replace_card(card, 'C2')
            self._member(company, name='Other', member_number='M2')

            rows = read_sheet(MemberExporter(company, mask=False).export())
            self.assertEqual(rows[0], COLUMN_KEYS)
            values = dict(zip(rows[0], rows[1]))
            self.assertEqual(values['member_number'], 'M1')
            self.assertEqual(values['mobile'], '+8613812345678')
            self.assertEqual(values['card_number'], 'C2')
            self.assertEqual(values['tags'], 'VIP')
            self.assertEqual(len(rows), 3)

            masked = read_sheet(MemberExporter(company).export())
            self.assertEqual(
                dict(zip(masked[0], masked[1]))['mobile'], '138****5678')

            # the export reads back as an import sheet
            importer = MemberImporter(company)
            importer.read(MemberExporter(company, mask=False).export())
            importer.check()
            self.assertEqual(
                {r.column for r in importer.rejections},
                {'member_number', 'mobile', 'card_number'})

    @with_transaction()
    def test_template(self):
        "The template has the import columns and reads as a header"
        from trytond.modules.retail_member.exchange import COLUMN_KEYS, MemberImporter
        from trytond.modules.retail_member.template import build_template
        company = create_company()
        with set_company(company):
            data = build_template()
            self.assertEqual(read_sheet(data)[0], COLUMN_KEYS)
            with self.assertRaises(UserError) as cm:
                MemberImporter(company).read(data)
            self.assertIn('no member rows', cm.exception.message)

    @with_transaction()
    def test_import_sample(self):
        "The generated sample sheet imports without rejection"
        from trytond.modules.retail_member.exchange import MemberImporter
        from trytond.modules.retail_member.template import build_sample
        Card = Pool().get('retail.member.card')
        company = create_company()
        with set_company(company):
            self._setup_import(company)
            importer = MemberImporter(company)
            importer.read(build_sample(600, ['GOLD'], ['SH01'], seed=3))
            self.assertEqual(importer.check(), [])
            self.assertEqual(importer.create(), 600)
            party, card = Card.identify('90300000599')
            self.assertEqual(party.member_number, 'S030000599')
            self.assertEqual(party.member_tier.code, 'GOLD')

    @with_transaction()
    def test_erase_member(self):
        "Erasing a member removes its personal data, once its cards are closed"
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        Erase = pool.get('party.erase', type='wizard')
        company = create_company()
        with set_company(company):
            party = self._member(
                company, member_mobile='13812345678',
                birth_date=dt.date(1990, 1, 1), gender='male',
                photo=b'jpeg', consent_sms=True)
            card = self._card(party, '88001')
            Party.write([party], {'active': False})

            session_id, _, _ = Erase.create()
            erase = Erase(session_id)
            erase.ask.party = party
            with self.assertRaises(UserError) as cm:
                erase.transition_erase()
            self.assertIn('88001', cm.exception.message)

            Card.close([card])
            erase.transition_erase()
            # erase writes with SQL: ask the database, not the record cache
            with inactive_records():
                self.assertEqual(Party.search([
                            ('id', '=', party.id),
                            ('member_mobile', '=', None),
                            ('birth_date', '=', None),
                            ('gender', '=', None),
                            ('photo', '=', None),
                            ('consent_sms', '=', False),
                            ('member_cards', '=', card.id),
                            ]), [party])


del ModuleTestCase
