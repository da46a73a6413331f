"""Fixtures for the cross-module tests: a demo database built exactly as
scripts/run.sh builds it (trytond-admin + data/demo.py, smaller sizes), on the
backend named by HUIYUAN_BACKEND, and a live trytond serving it on loopback.

Building the database activates every module (minutes), so the result is kept
in ~/.cache/huiyuan/e2e keyed by a hash of addons/ and data/demo.py: an SQLite
file copy, or a PostgreSQL template database.
"""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / '.venv' / 'bin'
BACKEND = os.environ.get('HUIYUAN_BACKEND', 'sqlite')
PG_URI = os.environ.get(
    'HUIYUAN_PG_URI', 'postgresql://postgres@127.0.0.1:5432/')
CACHE = Path(os.environ.get(
        'HUIYUAN_CACHE', Path.home() / '.cache' / 'huiyuan')) / 'e2e'
DB = 'hy_e2e'
ADMIN_PASSWORD = 'admin-demo'
DEMO_ARGS = ['--members', '120', '--products', '60', '--sales', '12']


def source_hash():
    names = modules()
    digest = hashlib.sha256(' '.join(DEMO_ARGS + names).encode())
    paths = sorted(p for name in names for p in (ROOT / 'addons' / name
            ).rglob('*')
        if p.is_file() and '__pycache__' not in p.parts
        and p.suffix not in {'.pyc', '.md'})
    paths.extend(sorted((ROOT / 'data').glob('demo*.py')))
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def modules():
    "Every addon, or those named in HUIYUAN_E2E_MODULES (while developing)"
    upstream = [line.strip() for line in
        (ROOT / 'data' / 'modules.txt').read_text().splitlines()
        if line.strip() and not line.startswith('#')]
    if os.environ.get('HUIYUAN_E2E_MODULES'):
        return upstream + os.environ['HUIYUAN_E2E_MODULES'].split()
    return upstream + sorted(p.name for p in (ROOT / 'addons').iterdir()
        if (p / 'tryton.cfg').exists())


def pg_exec(sql, dbname='postgres'):
    from urllib.parse import urlparse

    import psycopg
    uri = urlparse(PG_URI)
    with psycopg.connect(host=uri.hostname, port=uri.port or 5432,
            user=uri.username or None, dbname=dbname,
            autocommit=True) as conn:
        return conn.execute(sql).fetchall() if sql.lstrip().upper(
            ).startswith('SELECT') else conn.execute(sql)


def pg_terminate(name):
    pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")


@pytest.fixture(scope='session')
def server_env(tmp_path_factory):
    env = dict(os.environ)
    for key in list(env):
        if key.startswith('TRYTOND_') or key in {'DB_NAME', 'DB_CACHE'}:
            env.pop(key)
    env['TRYTOND_CONFIG'] = str(ROOT / 'trytond.conf')
    env['TRYTOND_WEB__ROOT'] = str(ROOT / 'var' / 'sao' / 'package')
    if BACKEND == 'postgresql':
        env['TRYTOND_DATABASE__URI'] = PG_URI
        # as scripts/run.sh: cache changes reach every process at once
        env['TRYTOND_CACHE__CLEAN_TIMEOUT'] = '0'
    else:
        path = tmp_path_factory.mktemp('db')
        env['TRYTOND_DATABASE__URI'] = 'sqlite://'
        env['TRYTOND_DATABASE__PATH'] = str(path)
    return env


def _run(cmd, env, log):
    proc = subprocess.run(cmd, env=env, cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(map(str, cmd))} failed:\n'
            + proc.stdout[-4000:])
    log.append(proc.stdout)
    return proc.stdout


@pytest.fixture(scope='session')
def demo_db(server_env):
    """Name of a demo database with every module and the demo data"""
    key = source_hash()
    CACHE.mkdir(parents=True, exist_ok=True)
    log = []
    if BACKEND == 'postgresql':
        template = f'hy_e2e_tpl_{key}'
        exists = pg_exec(
            f"SELECT 1 FROM pg_database WHERE datname = '{template}'")
        pg_terminate(DB)
        pg_exec(f'DROP DATABASE IF EXISTS {DB}')
        if exists:
            pg_exec(f'CREATE DATABASE {DB} TEMPLATE {template}')
            return DB
        pg_exec(f'CREATE DATABASE {DB}')
    else:
        path = Path(server_env['TRYTOND_DATABASE__PATH'])
        cached = CACHE / f'{key}.sqlite'
        if cached.exists():
            shutil.copy(cached, path / f'{DB}.sqlite')
            return DB
        (path / f'{DB}.sqlite').touch()
    passfile = CACHE / 'adminpass'
    passfile.write_text(ADMIN_PASSWORD)
    env = dict(server_env, TRYTONPASSFILE=str(passfile))
    _run([BIN / 'trytond-admin', '-d', DB, '--all', '--email',
            'admin@huiyuan.example', '-l', 'zh_CN', 'en'],
        env, log)
    _run([BIN / 'trytond-admin', '-d', DB, '-u', *modules(),
            '--activate-dependencies', '-l', 'zh_CN', 'en'], env, log)
    _run([BIN / 'python', ROOT / 'data' / 'demo.py', DB, *DEMO_ARGS],
        server_env, log)
    if BACKEND == 'postgresql':
        pg_terminate(DB)
        for (name,) in pg_exec("SELECT datname FROM pg_database "
                "WHERE datname LIKE 'hy_e2e_tpl_%'"):
            pg_exec(f'DROP DATABASE IF EXISTS {name}')
        pg_exec(f'CREATE DATABASE {template} TEMPLATE {DB}')
    else:
        for old in CACHE.glob('*.sqlite'):
            old.unlink()
        shutil.copy(path / f'{DB}.sqlite', cached)
    return DB


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def server(demo_db, server_env, tmp_path_factory):
    """URL of a live trytond serving the demo database on loopback"""
    port = free_port()
    env = dict(server_env, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}')
    logfile = tmp_path_factory.mktemp('log') / 'trytond.log'
    with open(logfile, 'w') as out:
        proc = subprocess.Popen([BIN / 'trytond', '-d', demo_db],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + '/', timeout=2).read()
            break
        except OSError as error:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.stderr.write(logfile.read_text())
                raise RuntimeError('trytond did not start') from error
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
