"""The demo database as scripts/run.sh builds it, seen over real HTTP."""
import subprocess

import pytest

from .conftest import BIN, DEMO_ARGS, ROOT
from .rpc import Client, RPCError

PASSWORD = 'huiyuan-demo'


@pytest.fixture
def admin(server, demo_db):
    client = Client(server, demo_db)
    client.login('admin', 'admin-demo')
    return client


def counts(client):
    return {
        'members': client.model(
            'party.party', 'search_count', [('is_member', '=', True)]),
        'cards': client.model('retail.member.card', 'search_count', []),
        'products': client.model('product.product', 'search_count', []),
        'users': client.model('res.user', 'search_count', []),
        'tiers': client.model('retail.member.tier', 'search_count', []),
        'payment methods': client.model(
            'sale.point.payment.method', 'search_count', []),
        'sales': client.model('sale.point.sale', 'search_count', []),
        'posted sales': client.model('sale.point.sale', 'search_count',
            [('state', '=', 'posted')]),
        }


def test_demo_data_is_complete(admin):
    got = counts(admin)
    assert got['members'] == 120
    assert got['cards'] == 120
    # --products 60 plus the products selling the count cards
    card_products = admin.model('product.template', 'search_count',
        [('count_card_template', '!=', None)])
    assert card_products >= 1
    assert got['products'] == 60 + card_products
    assert got['tiers'] == 4
    methods = admin.model('sale.point.payment.method', 'search_read',
        [], 0, None, None, ['cash', 'retail_wallet', 'retail_points',
            'count_card'])
    assert any(m['cash'] for m in methods)
    for flag in ['retail_wallet', 'retail_points', 'count_card']:
        assert sum(bool(m[flag]) for m in methods) == 1, flag
    # --sales 12, 6 sales with staff (demo_commission), 8 count-card sales
    # and uses (demo_count_card)
    assert got['sales'] == 26
    assert got['posted sales'] == 9  # every fifth receipt is left unposted


def test_demo_twice_changes_nothing(admin, demo_db, server_env):
    before = counts(admin)
    proc = subprocess.run([BIN / 'python', ROOT / 'data' / 'demo.py',
            demo_db, *DEMO_ARGS], env=server_env, cwd=ROOT,
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert counts(admin) == before


@pytest.mark.parametrize('login,language', [
        ('cashier', 'zh_CN'), ('manager', 'zh_CN'),
        ('accountant', 'zh_CN'), ('manager_en', 'en')])
def test_role_users_log_in_in_their_language(server, demo_db, login,
        language):
    client = Client(server, demo_db)
    client.login(login, PASSWORD)
    assert client.context['language'] == language


def test_wrong_password_is_refused(server, demo_db):
    client = Client(server, demo_db)
    with pytest.raises(RPCError):
        client.login('cashier', 'not-the-password')


def test_cashier_sees_masked_phones_manager_full(server, demo_db):
    cashier = Client(server, demo_db)
    cashier.login('cashier', PASSWORD)
    ids = cashier.model('party.party', 'search',
        [('is_member', '=', True)], 0, 5, None)
    assert len(ids) == 5
    rows = cashier.model('party.party', 'read', ids,
        ['member_mobile_masked'])
    for row in rows:
        masked = row['member_mobile_masked']
        assert '****' in masked and len(masked.replace('*', '')) <= 7
    with pytest.raises(RPCError):
        cashier.model('party.party', 'read', ids, ['member_mobile'])

    manager = Client(server, demo_db)
    manager.login('manager', PASSWORD)
    rows = manager.model('party.party', 'read', ids, ['member_mobile'])
    assert all(row['member_mobile'].startswith('+861') for row in rows)


def test_cashier_cannot_edit_tiers(server, demo_db):
    cashier = Client(server, demo_db)
    cashier.login('cashier', PASSWORD)
    tier_ids = cashier.model('retail.member.tier', 'search', [], 0, 1, None)
    with pytest.raises(RPCError):
        cashier.model('retail.member.tier', 'write', tier_ids,
            {'discount': '0.99'})
