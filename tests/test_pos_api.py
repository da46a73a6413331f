"""The POS HTTP API against a live trytond on the demo database (loopback):
the cashier's story over HTTP, then schemathesis over openapi.yaml (every
response must match the schema, no 5xx)."""
import json
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from .conftest import ADMIN_PASSWORD
from .rpc import Client as RPCClient

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / 'addons' / 'retail_pos' / 'openapi.yaml'
PIN = '1234'


class Client:
    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data,
            method=method)
        request.add_header('Content-Type', 'application/json')
        if self.token:
            request.add_header('Authorization', 'Bearer ' + self.token)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def get(self, path, **kw):
        return self.call('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.call('POST', path, body if body is not None else {},
            **kw)


@pytest.fixture(scope='module')
def base(server, demo_db):
    return f'{server}/{demo_db}/retail_pos/api/v1/'


@pytest.fixture(scope='module')
def client(base):
    client = Client(base)
    status, answer = client.post('login', {'login': 'cashier', 'pin': PIN})
    assert status == 200, answer
    client.token = answer['token']
    return client


def test_login_errors(base):
    client = Client(base)
    status, answer = client.post('login', {'login': 'cashier', 'pin': '0000'},
        headers={'Accept-Language': 'zh-CN'})
    assert status == 401
    assert answer['error']['code'] == 'wrong_pin'
    assert '密码错误' in answer['error']['message']
    status, answer = client.post('login', {'login': 'cashier', 'pin': '0000'},
        headers={'Accept-Language': 'en'})
    assert 'Wrong PIN' in answer['error']['message']
    # the right PIN resets the count
    status, _ = client.post('login', {'login': 'cashier', 'pin': PIN})
    assert status == 200
    status, answer = client.get('config')
    assert status == 401 and answer['error']['code'] == 'unauthorized'
    status, answer = client.call('POST', 'login', raw=b'{not json')
    assert status == 400 and answer['error']['code'] == 'invalid_json'


def test_cashier_story(client):
    status, config = client.get('config')
    assert status == 200
    kinds = {m['kind']: m for m in config['payment_methods']}
    assert {'cash', 'card', 'wechat', 'alipay'} <= set(kinds)
    status, catalog = client.get('catalog')
    assert status == 200 and catalog['full']
    assert len(catalog['products']) >= 10
    product = next(p for p in catalog['products'] if p['kind'] == 'goods')
    status, delta = client.get('catalog?since=' + catalog['cursor'])
    assert status == 200 and not delta['full']

    status, member = client.get('members/identify?code=880000000001')
    assert status == 200, member
    assert '*' in (member['mobile_masked'] or '*')
    status, answer = client.get('members/identify?code=nobody-here')
    assert status == 404 and answer['error']['code'] == 'member_not_found'

    cart = {'member_id': member['id'],
        'lines': [{'product_id': product['id'], 'quantity': 2}]}
    status, quote = client.post('quote', cart)
    assert status == 200, quote
    total = Decimal(quote['total'])
    assert total <= Decimal(product['price']) * 2

    sale = dict(cart, uuid=str(uuid.uuid4()), payments=[{
                'method_id': kinds['cash']['id'],
                'amount': str(total + 10)}],
        total='0.01')
    status, first = client.post('checkout', sale)
    assert status == 200, first
    assert Decimal(first['sale']['total']) == total
    assert Decimal(first['sale']['change']) == Decimal(10)
    status, again = client.post('checkout', sale)
    assert status == 200 and again == first
    status, answer = client.post('checkout', dict(sale, payments=[]))
    assert status == 409 and answer['error']['code'] == 'uuid_reused'

    status, reprint = client.get('receipt/%d' % first['sale']['id'])
    assert status == 200
    assert reprint['receipt']['barcode']['data'] == first['sale']['number']

    status, refund = client.post('refund', {'uuid': str(uuid.uuid4()),
            'sale_number': first['sale']['number']})
    assert status == 200, refund
    assert Decimal(refund['sale']['total']) == -total
    status, answer = client.post('refund', {'uuid': str(uuid.uuid4()),
            'sale_number': first['sale']['number']})
    assert status == 422 and answer['error']['code'] == 'refund_exceeds'

    status, answer = client.post('checkout', {'uuid': str(uuid.uuid4()),
            'lines': [{'product_id': product['id'], 'quantity': 1}],
            'payments': [{'method_id': kinds['card']['id'],
                    'amount': '99999.00'}]})
    assert status == 422 and answer['error']['code'] == 'overpayment'
    assert answer['error']['field'] == 'payments[0].amount'

    status, report = client.get('session/report')
    assert status == 200, report
    assert report['report']['sales_count'] >= 1


def test_refused_checkout_leaves_no_gap_in_numbers(client):
    "A checkout refused after its sale was numbered gives the number back"
    import re
    status, config = client.get('config')
    assert status == 200
    cash = next(m for m in config['payment_methods'] if m['kind'] == 'cash')
    status, catalog = client.get('catalog')
    product = next(p for p in catalog['products'] if p['kind'] == 'goods')
    lines = [{'product_id': product['id'], 'quantity': 1}]
    status, quote = client.post('quote', {'lines': lines})
    total = Decimal(quote['total'])

    def checkout(amount):
        return client.post('checkout', {'uuid': str(uuid.uuid4()),
                'lines': lines,
                'payments': [{'method_id': cash['id'], 'amount': amount}]})

    def serial(number):
        return int(re.search(r'(\d+)$', number).group(1))
    status, first = checkout(str(total))
    assert status == 200, first
    status, answer = checkout(str(total - Decimal('0.01')))
    assert status == 422 and answer['error']['code'] == 'amount_to_pay'
    status, second = checkout(str(total))
    assert status == 200, second
    assert serial(second['sale']['number']) == serial(
        first['sale']['number']) + 1


def test_line_discount_refused_with_promotions(client):
    "With promotions activated a cashier's line discount is refused, named"
    status, config = client.get('config')
    assert status == 200 and config['line_discount'] is False
    status, catalog = client.get('catalog')
    assert status == 200
    first, second = [p for p in catalog['products']
        if p['kind'] == 'goods'][:2]
    cart = {'lines': [
            {'product_id': first['id'], 'quantity': 1},
            {'product_id': second['id'], 'quantity': 1,
                'discount_percent': 10}]}
    status, answer = client.post('quote', cart)
    assert status == 422, answer
    assert answer['error']['code'] == 'invalid_discount'
    assert answer['error']['field'] == 'lines[1].discount_percent'
    del cart['lines'][1]['discount_percent']
    status, quote = client.post('quote', cart)
    assert status == 200, quote
    assert len(quote['lines']) == 2


def test_checkout_keeps_the_quoted_promotions(client, server, demo_db):
    """The sale keeps the prices, promotions and spend discount (满减) the
    cashier was quoted, on its lines and in its adjustments"""
    admin = RPCClient(server, demo_db)
    admin.login('admin', ADMIN_PASSWORD)
    clothes = admin.model('product.product', 'search_read',
        [('categories.name', 'ilike', '%Clothing%'), ('salable', '=', True)],
        0, 40, [('id', 'ASC')], ['id'])
    status, catalog = client.get('catalog')
    assert status == 200
    prices = {p['id']: Decimal(p['price']) for p in catalog['products']}
    # the demo's 满300减30 on clothing: 300 or more of it
    lines, amount = [], Decimal(0)
    for row in clothes:
        if row['id'] in prices and amount < 300:
            lines.append({'product_id': row['id'], 'quantity': 1})
            amount += prices[row['id']]
    assert amount >= 300, 'the demo has too few clothes'
    status, member = client.get('members/identify?code=880000000001')
    assert status == 200, member
    cart = {'member_id': member['id'], 'lines': lines}
    status, quote = client.post('quote', cart)
    assert status == 200, quote
    assert quote['adjustments'], quote
    label = quote['adjustments'][0]['label']
    status, config = client.get('config')
    cash = next(m for m in config['payment_methods'] if m['kind'] == 'cash')
    status, answer = client.post('checkout', dict(cart,
            uuid=str(uuid.uuid4()), payments=[{
                    'method_id': cash['id'], 'amount': quote['total']}]))
    assert status == 200, answer
    assert answer['sale']['total'] == quote['total']
    sale, = admin.model('sale.point.sale', 'read', [answer['sale']['id']],
        ['state', 'promotion_adjustments', 'lines'])
    assert sale['state'] in {'done', 'posted'}
    assert label in sale['promotion_adjustments']
    # the sale's history in the back office: closed by the cashier
    logs = admin.model('ir.model.log', 'search_read', [
            ('resource', '=', 'sale.point.sale,%d' % sale['id']),
            ('event', '=', 'transition'),
            ], 0, 10, None, ['target', 'user', 'create_date'])
    assert [(log['target'], bool(log['user'] and log['create_date']))
        for log in logs] == [('state:done', True)], logs
    stored = admin.model('sale.point.sale.line', 'read', sale['lines'],
        ['product', 'unit_price', 'base_unit_price', 'promotion_notes'])
    stored.sort(key=lambda ln: ln['id'])
    for line, row in zip(quote['lines'], stored):
        assert row['product'] == line['product_id']
        assert row['unit_price'] == Decimal(line['unit_price'])
        assert 0 < row['base_unit_price'] <= prices[row['product']]
        assert label in row['promotion_notes']
        assert set(line['notes']) == set(row['promotion_notes'].split('\n'))


def test_count_card_checkout(client, server, demo_db):
    "A service taken on a count card costs nothing and uses one visit"
    admin = RPCClient(server, demo_db)
    admin.login('admin', ADMIN_PASSWORD)
    services = admin.model('retail.count.card.service', 'search_read',
        [('card.state', '=', 'active')], 0, None,
        [('id', 'ASC')], ['card', 'product', 'uses_left'])
    member = service = None
    for row in (s for s in services if (s['uses_left'] or 0) > 0):
        card, = admin.model('retail.count.card', 'read', [row['card']],
            ['party'])
        numbers = admin.model('retail.member.card', 'search_read',
            [('state', '=', 'active'), ('party', '=', card['party'])],
            0, 1, None, ['number'])
        if numbers:
            status, member = client.get(
                'members/identify?code=' + numbers[0]['number'])
            assert status == 200, member
            service = row
            break
    assert service, 'the demo has no member with count-card uses left'
    card = next(c for c in member['count_cards'] if c['id'] == service['card'])
    left = next(s['uses_left'] for s in card['services']
        if s['product_id'] == service['product'])

    status, config = client.get('config')
    cash = next(m for m in config['payment_methods'] if m['kind'] == 'cash')
    status, catalog = client.get('catalog')
    goods = next(p for p in catalog['products'] if p['kind'] == 'goods')
    cart = {'member_id': member['id'], 'lines': [
            {'product_id': service['product'], 'quantity': 1,
                'count_card_id': card['id']},
            {'product_id': goods['id'], 'quantity': 1}]}
    status, quote = client.post('quote', cart)
    assert status == 200, quote
    covered, paid = quote['lines']
    assert Decimal(covered['amount']) == 0
    assert card['number'] in ' '.join(covered['notes'])
    assert Decimal(quote['total']) == Decimal(paid['amount']) > 0

    sale = dict(cart, uuid=str(uuid.uuid4()), payments=[{
                'method_id': cash['id'], 'amount': quote['total']}])
    status, answer = client.post('checkout', sale)
    assert status == 200, answer
    assert Decimal(answer['sale']['change']) == 0
    # the receipt shows the card's part: its payments add up to the total
    receipt = answer['receipt']
    assert sum(Decimal(p['amount']) for p in receipt['payments']) == \
        Decimal(answer['sale']['total']) > Decimal(quote['total'])
    assert card['number'] in receipt['lines'][0].get('note', '')
    # points are earned on what the customer pays now, as quoted
    if quote['points_to_earn']:
        assert str(quote['points_to_earn']) in [
            value for _, value in receipt['member']['rows']]
    status, alone = client.post('quote', dict(cart, lines=cart['lines'][:1]))
    assert status == 200, alone
    assert Decimal(alone['total']) == 0 and alone['points_to_earn'] == 0
    after = next(c for c in answer['member']['count_cards']
        if c['id'] == card['id'])
    assert next(s['uses_left'] for s in after['services']
        if s['product_id'] == service['product']) == left - 1

    # a card that is not the member's is refused before anything is sold
    status, answer = client.post('quote', dict(cart, member_id=None))
    assert status == 422, answer
    assert answer['error']['message']


def test_static_front_end(server, demo_db):
    url = f'{server}/{demo_db}/retail_pos/'
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers['Content-Type'].startswith('text/html')
        assert response.headers['Cache-Control'] == 'no-cache'
    static = ROOT / 'addons' / 'retail_pos' / 'static'
    scripts = sorted(static.rglob('*.js'))
    if scripts:
        path = scripts[0].relative_to(static).as_posix()
        with urllib.request.urlopen(
                f'{url}static/{path}', timeout=30) as response:
            assert response.headers['Content-Type'].startswith(
                'text/javascript')
    with urllib.request.urlopen(
            f'{server}/{demo_db}/retail_pos/api/v1/openapi.yaml',
            timeout=30) as response:
        assert b'openapi: 3' in response.read()


def test_schemathesis(base, client):
    "Every operation: responses match openapi.yaml, never a 5xx"
    hypothesis = pytest.importorskip('hypothesis')
    schemathesis = pytest.importorskip('schemathesis')
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    schema = schemathesis.openapi.from_path(str(OPENAPI))
    headers = {'Authorization': 'Bearer ' + client.token}
    checks = [not_a_server_error, status_code_conformance,
        content_type_conformance, response_schema_conformance]
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in {'/logout', '/session/close'}:
            continue  # would end the session of the other calls

        @hypothesis.settings(max_examples=8, deadline=None,
            database=None, derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(base_url=base.rstrip('/'),
                headers=headers, checks=checks, timeout=60)
        check()
        tested += 1
    assert tested >= 12
