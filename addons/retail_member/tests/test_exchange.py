# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The bulk member import writes exactly what the sheet says, what the ORM
would have written, and a second import of the same sheet writes nothing."""
import re
import unittest
from collections import Counter

from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .tools import read_sheet

ROWS = 2000


class MemberBulkImportTestCase(unittest.TestCase):
    "Bulk member import"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module(['retail_member'])

    @with_transaction()
    def test_import_2000_rows_then_again(self):
        "2,000 rows create 2,000 members and cards; importing again, none"
        from trytond.modules.retail_member.exchange import MemberImporter
        from trytond.modules.retail_member.template import build_sample
        pool = Pool()
        Party = pool.get('party.party')
        Card = pool.get('retail.member.card')
        Tier = pool.get('retail.member.tier')
        Shop = pool.get('retail.shop')
        Category = pool.get('party.category')
        company = create_company()
        with set_company(company):
            Tier.create([
                    {'name': 'Gold', 'code': 'GOLD', 'rank': 2},
                    {'name': 'Silver', 'code': 'SILVER', 'rank': 1},
                    ])
            Shop.create([
                    {'name': 'Main', 'code': 'SH01'},
                    {'name': 'East', 'code': 'SH02'},
                    ])
            data = build_sample(
                ROWS, ['GOLD', 'SILVER'], ['SH01', 'SH02'], seed=7)
            sheet = read_sheet(data)
            header, lines = sheet[0], sheet[1:]
            expected = {line[header.index('member_number')]:
                dict(zip(header, line)) for line in lines}
            self.assertEqual(len(expected), ROWS)

            importer = MemberImporter(company)
            importer.read(data)
            self.assertEqual(importer.check(), [])
            self.assertEqual(importer.create(), ROWS)

            members = Party.search([
                    ('is_member', '=', True),
                    ('member_company', '=', company.id),
                    ])
            self.assertEqual(len(members), ROWS)
            self.assertEqual(
                {m.member_number for m in members}, set(expected))
            cards = Card.search([('company', '=', company.id)])
            self.assertEqual(len(cards), ROWS)
            self.assertEqual(
                {c.number for c in cards},
                {str(v['card_number']) for v in expected.values()})
            self.assertEqual(
                Counter(c.party.id for c in cards),
                Counter({m.id: 1 for m in members}))

            tag_names = {c.id: c.name for c in Category.search([])}
            for member in members:
                row = expected[member.member_number]
                self.assertEqual(member.name, row['name'])
                self.assertEqual(
                    member.member_mobile, '+86' + str(row['mobile']))
                self.assertEqual(member.member_tier.code, row['tier_code'])
                self.assertEqual(member.member_shop.code, row['shop_code'])
                self.assertEqual(member.join_date, row['join_date'].date())
                self.assertEqual(
                    member.birth_date, row['birth_date'].date())
                self.assertEqual(
                    member.gender,
                    {'女': 'female', '男': 'male', None: None}[row['gender']])
                self.assertEqual(member.consent_sms, row['consent_sms'])
                self.assertEqual(member.consent_email, row['consent_email'])
                tags = sorted(t.strip() for t in (row['tags'] or '').split(',')
                    if t.strip())
                self.assertEqual(
                    sorted(tag_names[c.id] for c in member.categories), tags)
                card, = member.member_cards
                self.assertEqual(card.number, str(row['card_number']))
                self.assertEqual(card.medium, row['card_medium'])
                self.assertEqual(card.named, row['card_named'])
                self.assertEqual(card.state, 'active')
                self.assertEqual(card.issue_date, row['join_date'].date())
                # what the ORM computes on create
                self.assertTrue(member.code)
                self.assertEqual(
                    member.code_alnum, re.sub(r'[\W_]', '', member.code))
                self.assertEqual(member.create_uid.id, Transaction().user)
                self.assertTrue(member.create_date)
            # the ORM's own validation accepts what the bulk path wrote
            Party._validate(members[:200])
            Card._validate(cards[:200])

            # identify finds them by card, phone and member number
            row = expected[members[-1].member_number]
            for code in [str(row['card_number']), str(row['mobile']),
                    members[-1].member_number]:
                self.assertEqual(Card.identify(code)[0], members[-1])

            # the same file again: every row rejected, nothing written
            again = MemberImporter(company)
            again.read(data)
            rejections = again.check()
            self.assertEqual(len({r.row for r in rejections}), ROWS)
            self.assertEqual(
                Counter(r.column for r in rejections),
                Counter({'member_number': ROWS, 'mobile': ROWS,
                        'card_number': ROWS}))
            with self.assertRaises(UserError):
                again.create()
            self.assertEqual(Party.search([
                        ('is_member', '=', True),
                        ('member_company', '=', company.id),
                        ], count=True), ROWS)
            self.assertEqual(
                Card.search([('company', '=', company.id)], count=True),
                ROWS)

    @with_transaction()
    def test_import_duplicates_in_file(self):
        "Duplicates inside one file are rejected before anything is written"
        from trytond.modules.retail_member.exchange import MemberImporter

        from .tools import make_sheet
        Party = Pool().get('party.party')
        company = create_company()
        with set_company(company):
            data = make_sheet(['name', 'mobile', 'card_number'], [
                    ['A', '13800000001', 'C1'],
                    ['B', '13800000001', 'C2'],
                    ['C', '13800000003', 'C1'],
                    ])
            importer = MemberImporter(company)
            importer.read(data)
            self.assertEqual(
                {(r.row, r.column) for r in importer.check()},
                {(3, 'mobile'), (4, 'card_number')})
            with self.assertRaises(UserError):
                importer.create()
            self.assertEqual(
                Party.search([('is_member', '=', True)], count=True), 0)
