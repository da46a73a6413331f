"""check.py must fail on each kind of problem it claims to catch."""
import json
import sys
from collections import defaultdict
from pathlib import Path

import polib
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import build
import check


def write_po(path, entries):
    pofile = polib.POFile()
    for msgctxt, msgid, msgstr, flags in entries:
        pofile.append(polib.POEntry(msgctxt=msgctxt, msgid=msgid,
                msgstr=msgstr, flags=flags))
    pofile.save(str(path))
    return path


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(check, 'ROOT', tmp_path)
    return tmp_path


def problems_of(func, *args):
    problems = defaultdict(list)
    func(*args, problems)
    return problems


@pytest.fixture(autouse=True)
def no_upstream(request, monkeypatch, tmp_path_factory):
    "Tests on a temporary ROOT do not read the real upstream catalogues"
    if request.node.name != 'test_repository_is_clean':
        monkeypatch.setattr(check, 'po_catalogues', lambda: sorted(
                check.ROOT.glob('addons/*/locale/zh_CN.po')))


def test_po_clean(root):
    path = write_po(root / 'ok.po', [
            ('field:a,b:', 'Number', '单号', []),
            ('model:ir.message,text:m', 'Sale "%(sale)s" done',
                '销售“%(sale)s”已完成', []),
            ('field:a,c:', 'kg', 'kg', []),  # same.txt
            ('field:a,d:', 'URL', 'URL', []),  # acronym
            ])
    assert problems_of(check.check_po, path) == {}


@pytest.mark.parametrize('msgid,msgstr,flags,problem', [
        ('Number', '', [], 'untranslated'),
        ('Number', 'Number', [], 'untranslated'),
        ('Number', '单号', ['fuzzy'], 'fuzzy'),
        ('Sale "%(sale)s" done', '销售已完成', [], 'placeholders differ'),
        ('%(n)d lines', '%(n)s 行', [], 'placeholders differ'),
        ])
def test_po_problems(root, msgid, msgstr, flags, problem):
    path = write_po(root / 'bad.po', [('field:a,b:', msgid, msgstr, flags)])
    assert list(problems_of(check.check_po, path)) == [problem]


def test_pos_json(root):
    folder = root / 'addons' / 'retail_pos' / 'static' / 'i18n'
    folder.mkdir(parents=True)
    (folder / 'en.json').write_text(json.dumps({
                'pay': 'Pay', 'change': 'Change: %(amount)s',
                'screen': {'hold': 'Hold order', 'resume': 'Resume'}}))
    zh = folder / 'zh_CN.json'
    zh.write_text(json.dumps({
                'pay': '付款', 'change': '找零：%(amount)s',
                'screen': {'hold': '挂单', 'resume': '取单'}}))
    assert problems_of(check.check_json, zh) == {}
    zh.write_text(json.dumps({
                'pay': 'Pay', 'change': '找零',
                'screen': {'hold': ''}}))
    problems = problems_of(check.check_json, zh)
    assert len(problems['untranslated']) == 3  # pay, hold, resume missing
    assert len(problems['placeholders differ']) == 1


def test_coverage(tmp_path, monkeypatch):
    monkeypatch.setattr(build, 'UPSTREAM', tmp_path)
    data = {'modules': {'sale_point': [
                ['field:sale.point.sale,number:', 'Number', None, '', False],
                ['field:sale.point.sale,total:', 'Total', None, '合计',
                    False],
                ['field:sale.point.sale,lines:', 'Lines', None, 'Lines',
                    True],
                ]}}
    write_po(tmp_path / 'sale_point.zh_CN.po', [
            ('field:sale.point.sale,number:', 'Number', '单号', []),
            ])
    problems = problems_of(check.check_coverage, data)
    # Total: upstream translates it, but it is missing from the catalogue
    assert problems['not in catalogue (run i18n/build.py sync)'] == [
        "sale_point: field:sale.point.sale,total: 'Total'",
        "sale_point: field:sale.point.sale,lines: 'Lines'"]
    # Lines: upstream's is fuzzy English and we have none
    assert problems['not translated in zh_CN: sale_point'] == [
        "field:sale.point.sale,lines: 'Lines'"]


def test_override_context():
    assert build.override_context(
        'sale_point', 'model:ir.ui.menu,name:menu_sale_form') == (
        'model:ir.ui.menu,name:sale_point.menu_sale_form')
    assert build.override_context(
        'sale_point', 'field:sale.point.sale,number:') == (
        'field:sale.point.sale,number:sale_point.')


def test_repository_is_clean(monkeypatch):
    "The shipped catalogues pass (what scripts/run_tests.py runs)"
    monkeypatch.setattr(sys, 'argv', ['check.py'])
    assert check.main() == 0


def test_glossary_use(root, monkeypatch):
    locale = root / 'addons' / 'retail_points' / 'locale'
    locale.mkdir(parents=True)
    write_po(locale / 'zh_CN.po', [
            ('field:retail.points.line,points:', 'Points', '点数', []),
            ('field:retail.member.card,number:', 'Number', '卡号', []),
            ('field:retail.wallet,bonus:', 'Bonus', '赠送金', []),
            ])
    problems = problems_of(check.check_glossary_use)
    assert problems['glossary word not used'] == [
        "addons/retail_points/locale/zh_CN.po: "
        "field:retail.points.line,points: 'Points' -> '点数' "
        "(glossary: 积分)"]


def test_sao_placeholders(root):
    "sao passes %1: a msgstr with %s shows a literal %s in the client"
    path = write_po(root / 'sao.po', [
            (None, 'CSV Import: %1', 'CSV导入: %s', []),
            ])
    assert list(problems_of(check.check_po, path)) == [
        'placeholders differ']


def test_sao_json_format():
    import sao
    data = sao.catalogue_json()
    assert data['Details'] == [None, '详情']
    assert data['%1 record saved'][0] == '%1 records saved'
    assert all(isinstance(v, list) and v[-1] for k, v in data.items() if k)


def test_activated_module_not_extracted(root):
    addon = root / 'addons' / 'retail_x'
    addon.mkdir(parents=True)
    (addon / 'tryton.cfg').write_text(
        '[tryton]\ndepends:\n    ir\n    sale_gift_card\n')
    data = {'modules': {'ir': []}}
    problems = problems_of(check.check_extracted_modules, data)
    missing, = problems.values()
    assert 'sale_gift_card' in missing and 'ir' not in missing
