#!/usr/bin/env python
"""Benchmark of the POS API (retail_pos) on PostgreSQL, printing JSON.

    bench/pos_bench.py [all|setup|measure|checkout|baseline|ready|profile]
        [options]

- setup: a database (DB_NAME, default bench_pos_api) with retail_pos and its
  dependencies, 8 tills (each its own strict sequence), 20 products for the
  sales, members with wallet (PIN) and points, a cashier token per till, then
  --products (default 20,000) products with barcodes and prices and
  --members (default 100,000) members with cards in bulk SQL.
- checkout: the API's checkout (the code path of the HTTP route: token check,
  transaction, lock retries, commit; no HTTP) for a 5-line sale, cash or
  wallet with PIN or points, with 1 and with 8 concurrent terminals
  (processes), p50/p95; then the same with Tryton's plain sale_point flow
  (create, pay, process, post: what design.md measured) in the same run, and
  the ratio.
- profile: one till's checkouts under cProfile: p50 without the profiler,
  SQL queries per checkout, the functions by cumulative and own time per
  checkout (PROFILE_OUT=file also writes the pstats file).
- ready: POS ready time: config + the full catalogue (20k products) as the
  browser loads them (JSON encoded), and a member identified on demand among
  100k members.

Environment: TRYTOND_DATABASE__URI (default postgresql://postgres@127.0.0.1:5432/),
DB_NAME, DB_CACHE (default postgresql:// template databases). BENCH_FULL=1:
every suite module activated, as the demo runs (database bench_pos_full),
with a 满减 (300-30, 500-60), a members' line price (9折) and a tier discount
promotion on every product; Tryton's flow is then not measured (the
promotions price its sale again when done): take the ratio from the run
without BENCH_FULL. Each phase runs
in its own process so the test-mode pool of setup never affects timings.
"""
import argparse
import json
import logging
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
import uuid
from decimal import Decimal
from queue import Empty

os.environ.setdefault('TRYTOND_DATABASE__URI',
    'postgresql://postgres@127.0.0.1:5432/')
# BENCH_FULL=1: every suite module activated (promotions, coupons, count
# cards, commission, notifications, reports), as the demo runs, with a spend
# (满减), a member line and a tier promotion on every product
FULL = os.environ.get('BENCH_FULL') == '1'
os.environ.setdefault('DB_NAME', 'bench_pos_full' if FULL else 'bench_pos_api')
os.environ.setdefault('DB_CACHE', 'postgresql://')
os.environ.pop('TRYTOND_CONFIG', None)
# as scripts/run.sh on PostgreSQL: a cache change reaches every process
# through the database's notifications (each listens on a connection of its
# own)
os.environ.setdefault('TRYTOND_CACHE__CLEAN_TIMEOUT', '0')
DB = os.environ['DB_NAME']
N_LINES = 5
N_TILLS = 8


def stats(times, label, **extra):
    ms = sorted(t * 1000 for t in times)
    n = len(ms)
    result = {
        'label': label, 'n': n,
        'p50_ms': round(statistics.median(ms), 1),
        'p95_ms': round(ms[min(n - 1, max(int(round(0.95 * n)) - 1, 0))], 1),
        'mean_ms': round(statistics.fmean(ms), 1),
        'max_ms': round(ms[-1], 1),
        }
    result.update(extra)
    return result


# ------------------------------------------------------------------ setup
def setup(products=20000, members=100000, sale_members=40):
    from trytond.tests.test_tryton import activate_module, drop_db
    from trytond.transaction import Transaction
    t0 = time.perf_counter()
    drop_db()
    activate_module(suite_modules() if FULL else ['retail_pos'])
    log(f'activated in {time.perf_counter() - t0:.0f}s')
    from trytond.transaction import TransactionError
    extras = {}
    while True:
        with Transaction().start(DB, 0, **extras) as transaction:
            try:
                info = _setup_data(transaction, products, members,
                    sale_members)
            except TransactionError as e:
                # a table lock is needed: restart with it taken first
                transaction.rollback()
                e.fix(extras)
                continue
            transaction.commit()
            break
    with open(info_path(), 'w') as fp:
        json.dump(info, fp)
    log(f'setup done in {time.perf_counter() - t0:.0f}s')


def suite_modules():
    addons = os.path.join(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__))), 'addons')
    return sorted(name for name in os.listdir(addons)
        if os.path.exists(os.path.join(addons, name, 'tryton.cfg')))


def seed_promotions(env):
    "What the demo's promotions do, on every product (BENCH_FULL)"
    from trytond.pool import Pool
    pool = Pool()
    Promotion = pool.get('sale.promotion')
    Step = pool.get('sale.promotion.step')
    company = env['company']
    Promotion(name='满300减30', company=company, retail_kind='spend',
        retail_steps=[Step(threshold=Decimal(t), discount=Decimal(d))
            for t, d in [('300', '30'), ('500', '60')]]).save()
    Promotion.create([{
                'name': '会员日9折', 'company': company.id,
                'retail_kind': 'line', 'formula': 'unit_price * 0.9',
                'retail_members_only': True, 'retail_priority': 10,
                }, {
                'name': '等级折扣', 'company': company.id,
                'retail_kind': 'tier',
                'formula': 'unit_price * (1 - tier_discount)',
                'retail_members_only': True,
                }])


def seed_liability_move(env):
    """The members' opening wallet principal was seeded without accounting:
    book it (Dr expense / Cr liability) so liability = wallets' principal"""
    import datetime as dt

    from trytond.pool import Pool
    pool = Pool()
    Move = pool.get('account.move')
    Journal = pool.get('account.journal')
    Account = pool.get('account.account')
    Period = pool.get('account.period')
    from trytond.transaction import Transaction
    company = env['company']
    cursor = Transaction().connection.cursor()
    cursor.execute('SELECT sum(principal) FROM retail_wallet_line')
    total = Decimal(cursor.fetchone()[0] or 0)
    with Transaction().set_context(company=company.id):
        journal, = Journal.search([('type', '=', 'general')], limit=1)
        expense, = Account.search([('type.expense', '=', True),
                ('company', '=', company.id)], limit=1)
        today = dt.date.today()
        Line = pool.get('account.move.line')
        move = Move(journal=journal, company=company, date=today,
            period=Period.find(company, date=today), lines=[
                Line(account=env['liability'], credit=total,
                    debit=Decimal(0)),
                Line(account=expense, debit=total, credit=Decimal(0))])
        move.save()
        Move.post([move])


def _setup_data(transaction, products, members, sale_members):
    from trytond.modules.retail_pos.tests.tools import give_points, setup_pos
    from trytond.pool import Pool
    env = setup_pos(n_products=20, n_tills=N_TILLS,
        members=sale_members)
    pool = Pool()
    Token = pool.get('retail.pos.token')
    tokens = [Token.issue(env['cashier'], point)
        for point in env['points']]
    info = {
        'company': env['company'].id,
        'tokens': tokens,
        'points': [p.id for p in env['points']],
        'products': [p.id for p in env['products']],
        'members': [m.id for m, _, _ in env['members']],
        'methods': {k: m.id for k, m in env['methods'].items()},
        'liability': env['liability'].id,
        }
    for member, _, wallet in env['members']:
        wallet.post_line('topup', principal=Decimal('4000'))
        give_points(env, member, 1000000)
    seed_liability_move(env)
    if FULL:
        seed_promotions(env)
    bulk(transaction, env, products, members)
    return info


def info_path():
    return os.path.join(os.environ.get('TMPDIR', '/tmp'), f'{DB}.json')


def log(message):
    print(message, file=sys.stderr, flush=True)


def bulk(transaction, env, n_products, n_members):
    "Products with barcode and price, and members with cards, in bulk SQL"
    cursor = transaction.connection.cursor()
    company = env['company'].id
    template = env['products'][1].template
    cursor.execute('SELECT count(*) FROM product_product')
    have = cursor.fetchone()[0]
    if n_products > have:
        n = n_products - have
        cursor.execute(
            'INSERT INTO product_template (name, type, default_uom, '
            'sale_uom, salable, active, account_category, code, '
            'create_uid, create_date, consumable) '
            'SELECT %s || g, %s, %s, %s, true, true, %s, %s || g, 0, '
            'now(), false FROM generate_series(1, %s) g',
            ('Bulk product ', 'goods', template.default_uom.id,
                template.sale_uom.id, template.account_category.id, 'BK',
                n))
        cursor.execute(
            'INSERT INTO product_product (template, active, code, '
            'suffix_code, create_uid, create_date) '
            'SELECT t.id, true, t.code, NULL, 0, now() FROM product_template '
            't WHERE t.name LIKE %s', ('Bulk product %',))
        cursor.execute(
            'INSERT INTO product_gross_price (template, company, '
            'gross_price, create_uid, create_date) '
            'SELECT t.id, %s, 1 + (t.id %% 500), 0, now() FROM '
            'product_template t WHERE t.name LIKE %s',
            (company, 'Bulk product %'))
        cursor.execute(
            'INSERT INTO product_list_price (template, company, '
            'list_price, create_uid, create_date) '
            'SELECT t.id, %s, 1 + (t.id %% 500), 0, now() FROM '
            'product_template t WHERE t.name LIKE %s',
            (company, 'Bulk product %'))
        cursor.execute(
            'INSERT INTO product_identifier (product, type, code, '
            'create_uid, create_date) '
            'SELECT p.id, %s, lpad((2000000000000 + p.id)::text, 13, %s), '
            '0, now() FROM product_product p JOIN product_template t '
            'ON p.template = t.id WHERE t.name LIKE %s',
            ('ean', '0', 'Bulk product %'))
        log(f'{n} products in bulk')
    backdate_catalog(cursor)
    cursor.execute('SELECT count(*) FROM party_party WHERE is_member')
    have = cursor.fetchone()[0]
    if n_members > have:
        n = n_members - have
        cursor.execute(
            'INSERT INTO party_party (name, code, active, is_member, '
            'member_company, member_number, member_mobile, create_uid, '
            'create_date) '
            'SELECT %s || g, %s || g, true, true, %s, %s || g, '
            '%s || lpad(g::text, 8, %s), 0, now() '
            'FROM generate_series(1, %s) g',
            ('Bulk member ', 'BKM', company, 'BKM', '+86139', '0', n))
        cursor.execute(
            'INSERT INTO retail_member_card (number, party, company, '
            'medium, named, state, issue_date, create_uid, create_date) '
            'SELECT %s || p.id, p.id, %s, %s, true, %s, current_date, 0, '
            'now() '
            'FROM party_party p WHERE p.code LIKE %s',
            ('99', company, 'magstripe', 'active', 'BKM%'))
        log(f'{n} members in bulk')
    cursor.execute('ANALYZE')


# ------------------------------------------------------------------ client
class FakeRequest:
    "What routes.run reads of a werkzeug request"

    def __init__(self, method, token=None, body=None, args=None):
        self.method = method
        self.headers = {'Accept-Language': 'zh-CN'}
        if token:
            self.headers['Authorization'] = 'Bearer ' + token
        self._data = json.dumps(body).encode() if body is not None else b''
        self.args = args or {}

    def get_data(self, cache=True):
        return self._data


def in_process(worker, *args):
    """Run worker(*args, queue) in a fresh process (so that no pool or
    cache of this one affects the timing); return what it puts"""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=worker, args=(*args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not proc.is_alive():
                sys.exit(f'{worker.__name__} failed (see above)')
    proc.join()
    return result


def start_pool():
    from trytond.pool import Pool
    Pool.start()
    pool = Pool(DB)
    from trytond.transaction import Transaction
    with Transaction().start(DB, 0, readonly=True):
        pool.init()
    return pool


def api_call(pool, func, method, token, body=None, args=None, **kwargs):
    from trytond.modules.retail_pos import routes
    request = FakeRequest(method, token, body, args)
    response = routes.run(request, pool, func, token is not None, kwargs)
    return response.status_code, json.loads(response.get_data())


def make_cart(info, rnd, kind='cash', member=None):
    products = rnd.sample(info['products'], N_LINES)
    lines = [{'product_id': p, 'quantity': rnd.randint(1, 3)}
        for p in products]
    cart = {'uuid': str(uuid.uuid4()), 'lines': lines}
    if member:
        cart['member_id'] = member
    return cart


def pay(cart, info, total, kind, pin=True):
    "pin=False: the PIN was checked at the PIN pad (wallet/pin) already"
    methods = info['methods']
    if kind == 'wallet':
        cart['payments'] = [{'method_id': methods['wallet'],
                'amount': str(total)}]
        if pin:
            cart['payments'][0]['pin'] = '2468'
    elif kind == 'points':
        cart['payments'] = [
            {'method_id': methods['points'], 'points': 100},
            {'method_id': methods['cash'],
                'amount': str(total - Decimal('1.00') + 20)}]
    else:
        cart['payments'] = [{'method_id': methods['cash'],
                'amount': str(total + 50)}]
    return cart


class RetryCounter(logging.Handler):
    "Counts the API's lock retries (a retry runs the transaction again)"

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if record.getMessage().startswith('POS API retry'):
            self.count += 1


def count_retries():
    counter = RetryCounter()
    logger = logging.getLogger('trytond.modules.retail_pos.routes')
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    return counter


def sell(pool, info, token, rnd, member, kind, pads=None, cpus=None):
    """One quoted then paid sale, the wallet's PIN checked at the PIN pad
    as the POS does (its seconds appended to pads); return (seconds of the
    checkout, answer).  cpus: gets the checkout's seconds of this process's
    CPU (the code's cost, whatever the machine's load)"""
    from trytond.modules.retail_pos import routes
    cart = make_cart(info, rnd, member=member)
    status, quote = api_call(pool, routes.quote, 'POST', token, cart)
    assert status == 200, quote
    pay(cart, info, Decimal(quote['total']), kind, pin=False)
    if kind == 'wallet':
        t0 = time.perf_counter()
        status, answer = api_call(pool, routes.wallet_pin, 'POST', token, {
                'uuid': cart['uuid'], 'member_id': member,
                'amount': quote['total'], 'pin': '2468'})
        if pads is not None:
            pads.append(time.perf_counter() - t0)
        if status != 200 and answer['error']['code'] in {
                'insufficient_balance'}:
            return None, answer
        assert status == 200, answer
    t0, c0 = time.perf_counter(), time.process_time()
    status, answer = api_call(pool, routes.checkout, 'POST', token, cart)
    elapsed = time.perf_counter() - t0
    if cpus is not None:
        cpus.append(time.process_time() - c0)
    if status != 200 and answer['error']['code'] in {
            'insufficient_balance', 'points_invalid'}:
        if cpus is not None:
            cpus.pop()
        return None, answer
    assert status == 200, answer
    return elapsed, answer


def terminal(index, n_sales, out, seed=0, mode='mixed', think=0,
        start=None):
    """One till: n_sales checkouts through the API code path; returns
    latencies (quote excluded).  think: mean seconds a cashier spends
    between two checkouts (exponential; 0: back to back).  The till loads
    its pool and rings one untimed sale before it waits on start (a
    barrier): a server's workers are warm, and a till still loading would
    steal the CPU of the others' timed sales."""
    pool = start_pool()
    info = json.load(open(info_path()))
    token = info['tokens'][index % len(info['tokens'])]
    rnd = random.Random(seed * 1000 + index)
    # a member stands at one till: the tills serve different members (the
    # same member at two tills at once, the soak's case, waits and retries)
    members = info['members'][index % N_TILLS::N_TILLS]
    sell(pool, info, token, rnd, None, 'cash')
    retries = count_retries()
    times = []
    kinds = {'cash': [], 'wallet': [], 'points': [], 'wallet_pin_pad': []}
    cpus = []
    if start is not None:
        start.wait()
    if think:
        time.sleep(rnd.uniform(0, think))
    for _ in range(n_sales):
        if think:
            time.sleep(rnd.expovariate(1 / think))
        member = rnd.choice(members) if mode == 'mixed' else None
        kind = 'cash'
        if member:
            kind = rnd.choice(['cash', 'wallet', 'points'])
        elapsed, _ = sell(pool, info, token, rnd, member, kind,
            kinds['wallet_pin_pad'], cpus)
        if elapsed is None:
            continue
        times.append(elapsed)
        kinds[kind].append(elapsed)
    out.put((times, kinds, retries.count, time.perf_counter(), cpus))


def run_terminals(n_terminals, n_sales, mode, think=0):
    """Return the checkout times, the times per payment kind, the seconds
    from the start to the last till's end and the lock retries"""
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    start = ctx.Barrier(n_terminals + 1)
    procs = [ctx.Process(target=terminal,
            args=(i, n_sales, queue, n_terminals, mode, think, start))
        for i in range(n_terminals)]
    for proc in procs:
        proc.start()
    start.wait()
    t0 = time.perf_counter()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(r[3] for r in results) - t0
    times = [t for r in results for t in r[0]]
    kinds = {}
    for r in results:
        for key, value in r[1].items():
            kinds.setdefault(key, []).extend(value)
    cpus = [c for r in results for c in r[4]]
    return times, kinds, wall, sum(r[2] for r in results), cpus


def by_kind(kinds):
    """Sales, p50 and p95 per payment kind (wallet_pin_pad: the PIN pad's
    check before a wallet checkout, not in the checkout's figures)"""
    result = {}
    for kind, times in sorted(kinds.items()):
        if times:
            figures = stats(times, kind)
            result[kind] = {k: figures[k] for k in ['n', 'p50_ms', 'p95_ms']}
    return result


def bench_checkout(n_sales=40, think=5.0):
    """Back to back (every till saturating the server: the CPUs are the
    queue), then 8 tills with a cashier's pause between sales (think
    seconds on average; a busy real till rings a sale a minute)"""
    out = []
    runs = [(1, n_sales, 0), (N_TILLS, n_sales, 0)]
    if think:
        runs.append((N_TILLS, n_sales, think))
    for terminals, n, pause in runs:
        times, kinds, wall, retries, cpus = run_terminals(
            terminals, n, 'mixed', pause)
        label = (f'api checkout, {terminals} terminal(s), {N_LINES} lines, '
            'cash/wallet (PIN checked at the pad)/points mix, ')
        label += (f'a sale every {pause:g} s per till on average' if pause
            else 'back to back')
        out.append(stats(times, label, terminals=terminals,
                kinds=by_kind(kinds),
                think_s=pause, sales_per_s=round(len(times) / wall, 1),
                lock_retries=retries,
                # the server process's own CPU per checkout: what the code
                # costs, apart from the machine's speed and load
                cpu_p50_ms=round(statistics.median(cpus) * 1000, 1),
                cpu_p95_ms=stats(cpus, '')['p95_ms']))
        print(json.dumps(out[-1]), flush=True)
    return out


# ------------------------------------------------------------------ soak
def soak_terminal(index, n_sales, out, seed=0):
    """A till for tests/test_pos_soak.py: sales with random duplicates,
    late retries and refunds; every replay must return the first answer"""
    import logging
    logging.basicConfig(level=os.environ.get('HUIYUAN_LOG', 'WARNING'))
    logging.getLogger('trytond').setLevel(logging.WARNING)
    logging.getLogger('trytond.modules').setLevel(
        os.environ.get('HUIYUAN_LOG', 'WARNING'))
    from trytond.modules.retail_pos import routes
    pool = start_pool()
    info = json.load(open(info_path()))
    token = info['tokens'][index % len(info['tokens'])]
    rnd = random.Random(seed * 1000 + index)
    done = {}  # uuid -> (route, request, answer)
    sales = []
    counts = {'sales': 0, 'refunds': 0, 'duplicates': 0, 'retries': 0,
        'refused': 0}
    problems = []

    def send(route, body):
        status, answer = api_call(pool, route, 'POST', token, body)
        if status >= 500:
            problems.append((status, answer))
        return status, answer

    for _ in range(n_sales):
        member = rnd.choice(info['members']) if rnd.random() < 0.6 else None
        kind = rnd.choice(['cash', 'wallet', 'points']) if member else 'cash'
        cart = make_cart(info, rnd, member=member)
        status, quote = api_call(pool, routes.quote, 'POST', token, cart)
        if status != 200:
            problems.append((status, quote))
            continue
        pay(cart, info, Decimal(quote['total']), kind)
        status, answer = send(routes.checkout, cart)
        if status != 200:
            counts['refused'] += 1
            if answer['error']['code'] not in {
                    'insufficient_balance', 'points_invalid'}:
                problems.append((status, answer))
            continue
        counts['sales'] += 1
        done[cart['uuid']] = (routes.checkout, cart, answer)
        sales.append(answer['sale'])
        if rnd.random() < 0.1:
            counts['duplicates'] += 1
            if send(routes.checkout, cart)[1] != answer:
                problems.append(('duplicate differs', cart['uuid']))
        if rnd.random() < 0.05 and done:
            counts['retries'] += 1
            route, body, first = done[rnd.choice(sorted(done))]
            if send(route, body)[1] != first:
                problems.append(('retry differs', body['uuid']))
        if rnd.random() < 0.06 and sales:
            original = rnd.choice(sales)
            body = {'uuid': str(uuid.uuid4()), 'sale_id': original['id']}
            status, answer = send(routes.refund, body)
            if status == 200:
                counts['refunds'] += 1
                done[body['uuid']] = (routes.refund, body, answer)
                sales.remove(original)
            elif answer['error']['code'] != 'refund_exceeds':
                problems.append((status, answer))
    out.put({'counts': counts, 'problems': problems[:20],
            'uuids': sorted(done)})


def run_soak(n_terminals, n_sales):
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    procs = [ctx.Process(target=soak_terminal,
            args=(i, n_sales, queue, 7)) for i in range(n_terminals)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return results


def post_all():
    "Post every done sale as the cron does (in its own process)"
    ctx = mp.get_context('spawn')
    proc = ctx.Process(target=_post_all)
    proc.start()
    proc.join()
    return proc.exitcode


def _post_all():
    from trytond.transaction import Transaction, TransactionError
    pool = start_pool()
    info = json.load(open(info_path()))
    Sale = pool.get('sale.point.sale')
    extras = {}
    while True:
        with Transaction().start(DB, 0,
                context={'company': info['company']},
                **extras) as transaction:
            try:
                posted = Sale.retail_pos_post_batch(limit=200)
            except TransactionError as e:
                # posting takes table locks: start again holding them, as
                # ir.cron does
                transaction.rollback()
                e.fix(extras)
                continue
            if not posted:
                break
            transaction.commit()


# ------------------------------------------------------------------ baseline
def baseline_worker(n, out, seed=1):
    "Tryton's plain sale_point flow (as design.md measured it)"
    from trytond import backend
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    pool = start_pool()
    info = json.load(open(info_path()))
    rnd = random.Random(seed)
    with Transaction().start(DB, 0, readonly=True):
        User = pool.get('res.user')
        user, = User.search([('login', '=', 'till_cashier')])
        user_id = user.id
    context = {'company': info['company']}
    times = []

    def one(prods, qtys):
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        sale = Sale(point=info['points'][0])
        sale.save()
        lines = []
        for prod, qty in zip(prods, qtys):
            line = Line(sale=sale, product=prod, quantity=qty)
            line.on_change_product()
            lines.append(line)
        Line.save(lines)
        sale = Sale(sale.id)
        Payment(sale=sale, method=info['methods']['cash'],
            amount=sale.total).save()
        Sale.process([Sale(sale.id)])
        Sale.post([Sale(sale.id)])

    for _ in range(n):
        prods = rnd.sample(info['products'], N_LINES)
        qtys = [rnd.randint(1, 3) for _ in prods]
        t0 = time.perf_counter()
        extras = {}
        while True:
            try:
                with Transaction().start(DB, user_id, context=context,
                        **extras) as transaction:
                    try:
                        one(prods, qtys)
                    except TransactionError as e:
                        transaction.rollback()
                        e.fix(extras)
                        continue
                    transaction.commit()
                    break
            except backend.DatabaseOperationalError:
                time.sleep(0.02)
        times.append(time.perf_counter() - t0)
    out.put(times)
    del Pool


def bench_baseline(n=15):
    times = in_process(baseline_worker, n)
    result = stats(times, f'Tryton sale_point flow to posted, 1 terminal, '
        f'{N_LINES} lines, cash')
    print(json.dumps(result), flush=True)
    return result


CATALOG_TABLES = ['product_product', 'product_template', 'product_identifier',
    'product_list_price', 'product_gross_price']


def backdate_catalog(cursor):
    """A shop's catalogue was written over the past weeks, not in the last
    second: without this every product is within the delta's overlap.
    One row a minute: rows sharing the newest stamp would all be sent
    again by every delta (the overlap re-sends what changed at the
    cursor)"""
    for table in CATALOG_TABLES:
        cursor.execute(f'UPDATE {table} SET write_date = NULL, '
            "create_date = now() - interval '1 day' - id "
            "* interval '1 minute'")


# ------------------------------------------------------------------ ready
def ready_worker(out):
    from trytond.modules.retail_pos import routes
    pool = start_pool()
    info = json.load(open(info_path()))
    token = info['tokens'][0]
    results = {}
    for _ in range(3):
        t0 = time.perf_counter()
        status, config = api_call(pool, routes.config_, 'GET', token)
        assert status == 200, config
        status, catalog = api_call(pool, routes.catalog, 'GET', token)
        assert status == 200
        ready = time.perf_counter() - t0
        results.setdefault('ready', []).append(ready)
    results['products'] = len(catalog['products'])
    # a manager changed 20 prices since the till's last sync
    from trytond.transaction import Transaction
    with Transaction().start(DB, 0) as transaction:
        cursor = transaction.connection.cursor()
        backdate_catalog(cursor)
        cursor.execute('UPDATE product_list_price SET write_date = now(), '
            'list_price = list_price + 1 WHERE id IN (SELECT id FROM '
            'product_list_price ORDER BY id LIMIT 20)')
        transaction.commit()
    t0 = time.perf_counter()
    status, delta = api_call(pool, routes.catalog, 'GET', token,
        args={'since': catalog['cursor']})
    results['delta_ms'] = round((time.perf_counter() - t0) * 1000, 1)
    results['delta_products'] = len(delta['products'])
    identify = []
    from trytond.transaction import Transaction
    with Transaction().start(DB, 0, readonly=True) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute('SELECT number FROM retail_member_card '
            'ORDER BY random() LIMIT 20')
        numbers = [r[0] for r in cursor]
        cursor.execute('SELECT count(*) FROM party_party WHERE is_member')
        results['members'] = cursor.fetchone()[0]
    for number in numbers:
        t0 = time.perf_counter()
        status, member = api_call(pool, routes.identify, 'GET', token,
            args={'code': number})
        assert status == 200, member
        identify.append(time.perf_counter() - t0)
    results['identify'] = identify
    results['catalog_bytes'] = len(json.dumps(catalog, ensure_ascii=False))
    out.put(results)


def bench_ready():
    results = in_process(ready_worker)
    out = {
        'label': 'POS ready: config + full catalogue (JSON)',
        'products': results['products'],
        'catalog_bytes': results['catalog_bytes'],
        'ready_ms': [round(t * 1000) for t in results['ready']],
        'delta_catalog_ms': results['delta_ms'],
        'delta_products': results['delta_products'],
        }
    print(json.dumps(out), flush=True)
    ident = stats(results['identify'],
        'member identified on demand (card number)',
        members=results['members'])
    print(json.dumps(ident), flush=True)
    return [out, ident]


def profile_worker(n_sales, out, seed=7):
    """n_sales mixed checkouts of one till under cProfile: where the time
    of a checkout goes (functions, SQL queries per sale)"""
    import cProfile
    import pstats

    from trytond.modules.retail_pos import routes
    pool = start_pool()
    info = json.load(open(info_path()))
    token = info['tokens'][0]
    rnd = random.Random(seed)
    queries = [0]
    cpu = []

    def sale(profiler=None):
        member = rnd.choice(info['members'])
        kind = rnd.choice(['cash', 'wallet', 'points'])
        cart = make_cart(info, rnd, member=member)
        status, quote = api_call(pool, routes.quote, 'POST', token, cart)
        assert status == 200, quote
        pay(cart, info, Decimal(quote['total']), kind, pin=False)
        if kind == 'wallet':
            status, answer = api_call(pool, routes.wallet_pin, 'POST', token,
                {'uuid': cart['uuid'], 'member_id': member,
                    'amount': quote['total'], 'pin': '2468'})
        if profiler:
            profiler.enable()
        t0, c0 = time.perf_counter(), time.process_time()
        status, answer = api_call(pool, routes.checkout, 'POST', token, cart)
        elapsed = time.perf_counter() - t0
        cpu.append(time.process_time() - c0)
        if profiler:
            profiler.disable()
        return status, elapsed

    from trytond.backend.postgresql import database as pgdb
    counting = [False]
    execute = pgdb.LoggingCursor.execute

    def counted(self, *args, **kwargs):
        if counting[0]:
            queries[0] += 1
        return execute(self, *args, **kwargs)
    pgdb.LoggingCursor.execute = counted
    for _ in range(5):
        sale()
    times = []
    counting[0] = True
    del cpu[:]
    for _ in range(n_sales):
        status, elapsed = sale()
        if status == 200:
            times.append(elapsed)
        else:
            cpu.pop()
    counting[0] = False
    python_cpu = list(cpu)
    n_ok = len(times)
    n_queries = queries[0]
    profiler = cProfile.Profile()
    for _ in range(n_sales):
        sale(profiler)
    stats = pstats.Stats(profiler)
    if os.environ.get('PROFILE_OUT'):
        # for pstats / snakeviz: python -m pstats FILE
        stats.dump_stats(os.environ['PROFILE_OUT'])
    rows = []
    for (filename, line, name), (_, nc, tt, ct, _) in \
            stats.stats.items():
        rows.append((ct, tt, nc, '%s:%d(%s)' % (
                    filename.split('site-packages/')[-1].split(
                        '/work/main/')[-1], line, name)))
    out.put({
            'sales': n_ok,
            'p50_ms': round(statistics.median(times) * 1000, 1),
            # the Python side alone (the database's own CPU not counted):
            # steadier than the wall clock for comparing two versions
            'python_cpu_ms_mean': round(
                statistics.mean(python_cpu) * 1000, 1),
            'queries_per_sale': round(n_queries / max(n_ok, 1), 1),
            'cumulative_ms_per_sale': [
                (round(ct * 1000 / n_sales, 2), f)
                for ct, tt, nc, f in sorted(rows, reverse=True)[:60]],
            'own_ms_per_sale': [
                (round(tt * 1000 / n_sales, 2), nc // n_sales, f)
                for ct, tt, nc, f in sorted(
                    rows, key=lambda r: r[1], reverse=True)[:40]],
            })


def bench_profile(n_sales=30):
    return in_process(profile_worker, n_sales)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('phase', nargs='?', default='all',
        choices=['all', 'setup', 'measure', 'checkout', 'baseline', 'ready',
            'profile'],
        help='measure: all but setup (on the database of a previous setup)')
    parser.add_argument('--products', type=int, default=20000)
    parser.add_argument('--members', type=int, default=100000)
    parser.add_argument('--sales', type=int, default=40,
        help='sales per terminal')
    parser.add_argument('--baseline-sales', type=int, default=15)
    parser.add_argument('--think', type=float, default=5.0,
        help='mean pause between sales of a till in the paced run '
        '(0: no paced run)')
    args = parser.parse_args()
    report = {'database': DB}
    if args.phase in {'all', 'setup'}:
        ctx = mp.get_context('spawn')
        proc = ctx.Process(target=setup, args=(args.products, args.members))
        proc.start()
        proc.join()
        if proc.exitcode:
            sys.exit('setup failed')
    if args.phase in {'all', 'measure', 'ready'}:
        report['ready'] = bench_ready()
    if args.phase in {'all', 'measure', 'checkout'}:
        report['checkout'] = bench_checkout(args.sales, args.think)
    if FULL and args.phase in {'all', 'measure', 'baseline'}:
        # the promotions price Tryton's sale again when it is done: its
        # flow is measured on the database of retail_pos alone
        report['baseline'] = None
    elif args.phase in {'all', 'measure', 'baseline'}:
        report['baseline'] = bench_baseline(args.baseline_sales)
    if args.phase == 'profile':
        report['profile'] = bench_profile(args.sales)
    if report.get('checkout') and report.get('baseline'):
        report['ratio_baseline_p50_over_api_p50_1_terminal'] = round(
            report['baseline']['p50_ms'] / report['checkout'][0]['p50_ms'],
            1)
    print(json.dumps(report, indent=1))


if __name__ == '__main__':
    main()
