"""Soak of the POS API on PostgreSQL (loopback, bounded): 8 concurrent
terminals x HUIYUAN_SOAK_SALES sales (default 500) with random duplicates,
late retries and refunds through the API's route code path, then the
invariants: no duplicate sale, every replay answered the first result,
wallet and points ledgers sum to their balances, the stored value liability
account equals the wallets' principal, and the stock moves match the lines
once the done sales are posted in batches.

Run: HUIYUAN_BACKEND=postgresql .venv/bin/python -m pytest tests/test_pos_soak.py
(skipped on SQLite).  The test command (scripts/run_tests.py) runs 40 sales per
till unless HUIYUAN_SOAK_SALES says otherwise. The database is bench_pos_soak (bench/pos_bench.py
setup without the 20k products / 100k members)."""
import os
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get('HUIYUAN_BACKEND', 'sqlite')
TERMINALS = int(os.environ.get('HUIYUAN_SOAK_TERMINALS', 8))
SALES = int(os.environ.get('HUIYUAN_SOAK_SALES', 500))

pytestmark = pytest.mark.skipif(BACKEND != 'postgresql',
    reason="the soak needs PostgreSQL (real concurrent transactions)")


@pytest.fixture(scope='module')
def bench(tmp_path_factory):
    # Tryton keys its template cache by module names only: key the folder
    # by the sources too, or the soak runs on a stale schema
    from .conftest import CACHE, source_hash
    env = {
        'DB_NAME': 'bench_pos_soak',
        'TRYTOND_DATABASE__URI': os.environ.get(
            'HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/'),
        'DB_CACHE': str(CACHE.parent / 'db' / f'soak-{source_hash()}'),
        'TMPDIR': str(tmp_path_factory.mktemp('soak')),
        }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.environ.pop('TRYTOND_CONFIG', None)
    sys.path.insert(0, str(ROOT / 'bench'))
    import multiprocessing as mp

    import pos_bench
    proc = mp.get_context('spawn').Process(target=pos_bench.setup,
        args=(0, 0, 24))
    proc.start()
    proc.join()
    assert proc.exitcode == 0, 'setup failed'
    yield pos_bench
    sys.path.remove(str(ROOT / 'bench'))
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def query(sql, *args):
    import psycopg
    uri = os.environ['TRYTOND_DATABASE__URI']
    with psycopg.connect(uri.rstrip('/') + '/' + os.environ['DB_NAME']
            ) as conn:
        return conn.execute(sql, args).fetchall()


def test_soak(bench):
    results = bench.run_soak(TERMINALS, SALES)
    problems = [p for r in results for p in r['problems']]
    assert not problems, problems[:5]
    counts = {}
    for result in results:
        for key, value in result['counts'].items():
            counts[key] = counts.get(key, 0) + value
    print(counts)
    assert counts['sales'] >= TERMINALS * SALES * 0.8
    assert counts['duplicates'] and counts['refunds']
    uuids = [u for r in results for u in r['uuids']]

    # no duplicate sale: one request row and one sale per UUID
    rows = query('SELECT uuid, sale FROM retail_pos_checkout')
    assert len(rows) == len({u for u, _ in rows}) == len(uuids)
    sales = [s for _, s in rows]
    assert None not in sales and len(set(sales)) == len(sales)
    (count,), = query("SELECT count(*) FROM sale_point_sale "
        "WHERE state != 'cancelled'")
    assert count == len(sales)

    # ledgers sum to the balances
    bad = query('SELECT w.id FROM retail_wallet w JOIN retail_wallet_line l '
        'ON l.wallet = w.id GROUP BY w.id HAVING sum(l.principal) != '
        '(SELECT principal_after FROM retail_wallet_line x WHERE x.wallet '
        '= w.id ORDER BY sequence DESC LIMIT 1) OR sum(l.bonus) != '
        '(SELECT bonus_after FROM retail_wallet_line x WHERE x.wallet = w.id '
        'ORDER BY sequence DESC LIMIT 1) OR min(l.principal_after) < 0')
    assert not bad
    bad = query('SELECT a.id FROM retail_points_account a JOIN '
        'retail_points_line l ON l.account = a.id GROUP BY a.id HAVING '
        'sum(l.points) != (SELECT balance FROM retail_points_line x WHERE '
        'x.account = a.id ORDER BY sequence DESC LIMIT 1)')
    assert not bad

    # every done sale posted in batches, then the books and the stock
    assert bench.post_all() == 0
    (unposted,), = query("SELECT count(*) FROM sale_point_sale "
        "WHERE state = 'done'")
    assert unposted == 0
    info = __import__('json').load(open(bench.info_path()))
    (liability,), = query('SELECT coalesce(sum(credit - debit), 0) FROM '
        'account_move_line WHERE account = %s', info['liability'])
    (principal,), = query('SELECT coalesce(sum(principal), 0) FROM '
        'retail_wallet_line')
    assert Decimal(liability) == Decimal(principal)
    bad = query("SELECT l.id FROM sale_point_sale_line l "
        "JOIN product_product p ON l.product = p.id "
        "JOIN product_template t ON p.template = t.id "
        "LEFT JOIN stock_move m ON m.origin = 'sale.point.sale.line,' || l.id "
        "WHERE t.type = 'goods' GROUP BY l.id, l.quantity, l.product "
        "HAVING count(m.id) != 1 OR coalesce(sum(m.quantity), 0) "
        "!= abs(l.quantity) OR min(m.product) != l.product "
        "OR min(m.state) != 'done'")
    assert not bad
