# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

REPORTS = [
    'retail.report.sale.period', 'retail.report.sale.hour',
    'retail.report.sale.customer', 'retail.report.sale.product',
    'retail.report.sale.category', 'retail.report.sale.payment',
    'retail.report.member', 'retail.report.member.segment',
    'retail.report.member.frequency', 'retail.report.member.spend',
    'retail.report.member.flow', 'retail.report.member.cohort',
    'retail.report.member.tier', 'retail.report.member.tier.movement',
    'retail.report.liability', 'retail.report.staff',
    'retail.report.cash.session', 'retail.report.cash.session.method',
    'retail.report.daily.close', 'retail.report.sale.promotion',
    ]


class RetailReportTestCase(ModuleTestCase):
    "Test Retail Report module"
    module = 'retail_report'
    extras = ['retail_count_card', 'retail_coupon']

    @with_transaction()
    def test_reports_empty(self):
        "Every report runs on an empty company and exports to Excel"
        pool = Pool()
        Excel = pool.get('retail.report.excel', type='report')
        company = create_company()
        with set_company(company), Transaction().set_context(
                from_date=dt.date(2026, 1, 1), to_date=dt.date(2026, 1, 31),
                period='month'):
            for name in REPORTS:
                Model = pool.get(name)
                records = Model.search([])
                if name == 'retail.report.liability':
                    self.assertEqual(
                        [r.kind for r in records],
                        ['wallet_principal', 'wallet_bonus', 'points',
                            'count_card', 'coupon'])
                    self.assertEqual(
                        [r.amount for r in records], [0, 0, 0, 0, None])
                else:
                    self.assertEqual(records, [], msg=name)
                ext, content, _, _ = Excel.execute([], {'model': name})
                self.assertEqual(ext, 'xlsx')
                self.assertTrue(content.startswith(b'PK'))

    @with_transaction()
    def test_count_card_liability(self):
        "Count cards sold are uses and deferred value outstanding"
        from trytond.modules.retail_count_card.tests.test_module import Env
        pool = Pool()
        Liability = pool.get('retail.report.liability')
        company = create_company()
        with set_company(company):
            env = Env(company)
            env.issue(price='500')
            env.issue(template=env.combo, price='800', party=env.other)
            with Transaction().set_context(
                    from_date=env.today, to_date=env.today):
                row, = [r for r in Liability.search([])
                    if r.kind == 'count_card']
            self.assertEqual(
                (row.holders, row.quantity, row.amount, row.account,
                    row.account_balance, row.difference),
                (2, 20, Decimal('1300.00'), env.deferred, Decimal(0),
                    Decimal('-1300.00')))

    @with_transaction()
    def test_excel_refuses_other_models(self):
        "The Excel export only takes report models"
        from trytond.modules.retail_report.exceptions import ReportError
        pool = Pool()
        Excel = pool.get('retail.report.excel', type='report')
        with self.assertRaises(ReportError):
            Excel.execute([], {'model': 'party.party'})


del ModuleTestCase
