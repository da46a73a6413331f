import os
import tempfile
from pathlib import Path

import polib

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

LOCALE = Path(__file__).resolve().parent.parent / 'locale' / 'zh_CN.po'


def load_zh_cn():
    pool = Pool()
    Lang = pool.get('ir.lang')
    zh_cn, = Lang.search([('code', '=', 'zh_CN')])
    Lang.load_translations([zh_cn])


class RetailI18nTestCase(ModuleTestCase):
    "Test retail_i18n module"
    module = 'retail_i18n'
    extras = ['sale_gift_card']

    @with_transaction()
    def test_pos_reads_in_chinese(self):
        "With zh_CN loaded the POS menu, fields and states read in Chinese"
        pool = Pool()
        Menu = pool.get('ir.ui.menu')
        ModelData = pool.get('ir.model.data')
        load_zh_cn()

        with Transaction().set_context(language='zh_CN'):
            menu = Menu(ModelData.get_id('sale_point', 'menu_sale_form'))
            self.assertEqual(menu.name, '收银销售')
            Sale = pool.get('sale.point.sale')
            fields = Sale.fields_get(['number', 'state'])
            self.assertEqual(fields['number']['string'], '单号')
            self.assertEqual(
                dict(fields['state']['selection'])['done'], '已完成')
            view = Sale.fields_view_get(view_type='form')
            self.assertIn('其他信息', view['arch'])
            self.assertEqual(
                gettext('sale_point.msg_sale_delete_numbered', sale='S1'),
                '收银单“S1”已有单号，不能删除。')
            Location = pool.get('stock.location')
            help_selection = Location.fields_get(
                ['type'])['type']['help_selection']
            self.assertEqual(help_selection['storage'], '用于实际存放货物。')
        with Transaction().set_context(language='en'):
            menu = Menu(ModelData.get_id('sale_point', 'menu_sale_form'))
            self.assertEqual(menu.name, 'POS Sales')

    @with_transaction()
    def test_upstream_wording_fixed(self):
        "Upstream's own zh_CN words are replaced by the glossary's"
        pool = Pool()
        Party = pool.get('party.party')
        load_zh_cn()
        with Transaction().set_context(language='zh_CN'):
            self.assertEqual(Party.__names__()['model'], '往来单位')

    @with_transaction()
    def test_every_override_applied(self):
        "Each entry of locale/zh_CN.po is the value read for its string"
        pool = Pool()
        Translation = pool.get('ir.translation')
        ModelData = pool.get('ir.model.data')
        load_zh_cn()

        entries = [e for e in polib.pofile(str(LOCALE)) if e.msgstr]
        self.assertGreater(len(entries), 1000)
        wrong = []
        for entry in entries:
            ttype, name, res_id = entry.msgctxt.split(':')
            module, fs_id = res_id.split('.', 1)
            db_id = ModelData.get_id(module, fs_id) if fs_id else -1
            domain = [
                ('lang', '=', 'zh_CN'),
                ('type', '=', ttype),
                ('name', '=', name),
                ('res_id', '=', db_id),
                ('module', '=', module),
                ]
            if ttype in {'report', 'view', 'wizard_button', 'selection',
                    'help'}:
                domain.append(('src', '=', entry.msgid))
            rows = Translation.search(domain)
            if ([(r.value, r.fuzzy) for r in rows]
                    != [(entry.msgstr, False)]):
                wrong.append((entry.msgctxt, entry.msgid,
                        [(r.value, r.fuzzy) for r in rows]))
        self.assertEqual(wrong, [])

    @with_transaction()
    def test_missing_upstream_row_is_created(self):
        "An override of a string upstream lacks, or of an inactive module"
        pool = Pool()
        Translation = pool.get('ir.translation')
        Sale = pool.get('sale.point.sale')
        load_zh_cn()
        rows = Translation.search([
                ('lang', '=', 'zh_CN'),
                ('type', '=', 'field'),
                ('name', '=', 'sale.point.sale,number'),
                ('module', '=', 'sale_point'),
                ])
        Translation.delete(rows)

        pofile = polib.POFile()
        pofile.append(polib.POEntry(
                msgctxt='field:sale.point.sale,number:sale_point.',
                msgid='Number', msgstr='收银单号'))
        pofile.append(polib.POEntry(
                msgctxt='model:ir.ui.menu,name:not_activated.menu_x',
                msgid='X', msgstr='某菜单'))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'zh_CN.po')
            pofile.save(path)
            Translation.translation_import('zh_CN', 'retail_i18n', path)
        with Transaction().set_context(language='zh_CN'):
            self.assertEqual(
                Sale.fields_get(['number'])['number']['string'], '收银单号')


del ModuleTestCase
