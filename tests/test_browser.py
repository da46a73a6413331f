"""The back office (sao) as a Chinese shop manager sees it, in Debian's
chromium driven by Playwright. Screenshots go to .test-logs/screenshots/ and, with
HUIYUAN_UPDATE_SCREENSHOTS=1, to docs/screenshots/ (shown in the README)."""
import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT
from .rpc import Client

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync']
SHOTS = ROOT / '.test-logs' / 'screenshots'
DOCS = ROOT / 'docs' / 'screenshots'
CJK = re.compile(r'[\u4e00-\u9fff]')

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason='Debian chromium is not installed')


@pytest.fixture(scope='module')
def browser():
    playwright = pytest.importorskip('playwright.sync_api')
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def login(browser, server, database, user, password='huiyuan-demo'):
    page = browser.new_page(
        viewport={'width': 1400, 'height': 860}, locale='zh-CN')
    page.goto(f'{server}/#{database}')
    page.wait_for_selector('#login')
    page.wait_for_load_state('networkidle')
    if page.locator('input#database').is_visible():
        page.fill('input#database', database)
    page.fill('#login', user)
    page.click('button[type=submit]')
    page.wait_for_selector('input[type=password]')
    page.fill('input[type=password]', password)
    page.keyboard.press('Enter')
    page.wait_for_selector('#menu tbody tr')
    page.wait_for_load_state('networkidle')
    return page


def open_model(page, database, path):
    "Open a tab as a bookmark or a tryton:// link does"
    page.evaluate(f"window.location.hash = '{database}/{path}'")
    page.wait_for_selector('#tabcontent th:visible')
    page.wait_for_load_state('networkidle')
    page.wait_for_timeout(500)


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name)
    if os.environ.get('HUIYUAN_UPDATE_SCREENSHOTS'):
        shutil.copy(SHOTS / name, DOCS / name)


def visible_texts(page, selector):
    return [t.strip() for t in page.locator(selector).all_inner_texts()
        if t.strip()]


def test_menu_is_chinese_for_a_chinese_manager(browser, server, demo_db):
    page = login(browser, server, demo_db, 'manager')
    menu = visible_texts(page, '#menu tbody tr')
    assert menu, 'no menu entry shown'
    english = [m for m in menu if not CJK.search(m)]
    assert not english, f'menu entries not in Chinese: {english}'
    page.close()


def test_pos_sales_list_in_chinese(browser, server, demo_db):
    page = login(browser, server, demo_db, 'manager')
    open_model(page, demo_db, 'model/sale.point.sale')
    shot(page, 'pos-sales-zh_CN.png')
    headers = visible_texts(page, '#tabcontent th:visible')
    assert headers, 'the POS sales list shows no column'
    english = [h for h in headers if not CJK.search(h)]
    assert not english, f'column headers not in Chinese: {english}'
    page.close()


def test_member_form_in_chinese(browser, server, demo_db):
    admin = Client(server, demo_db)
    admin.login('admin', 'admin-demo')
    member_id, = admin.model('party.party', 'search',
        [('is_member', '=', True)], 0, 1, None)
    page = login(browser, server, demo_db, 'manager')
    page.evaluate(
        f"window.location.hash = '{demo_db}/model/party.party/{member_id}'")
    page.wait_for_selector('#tabcontent .form label:visible')
    page.wait_for_load_state('networkidle')
    member_tab = page.locator('#tabcontent .nav-tabs a', has_text='会员')
    if member_tab.count():
        member_tab.first.click()
        page.wait_for_timeout(500)
    shot(page, 'member-form-zh_CN.png')
    labels = visible_texts(page, '#tabcontent .form label:visible')
    assert labels, 'the member form shows no label'
    # acronyms such as URL or SMS are the same in Chinese
    english = [lbl for lbl in labels if not CJK.search(lbl)
        and re.search('[A-Za-z][a-z]{2,}', lbl)]
    assert not english, f'form labels not in Chinese: {english}'
    page.close()


def test_english_manager_sees_english(browser, server, demo_db):
    page = login(browser, server, demo_db, 'manager_en')
    menu = visible_texts(page, '#menu tbody tr')
    assert any(m in {'Party', 'Parties', 'Members', 'Sales'} for m in menu), \
        menu
    page.close()
