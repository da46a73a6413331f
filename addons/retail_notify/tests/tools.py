# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A real SMTP server (aiosmtpd) and a real HTTP provider on free loopback
ports, for the tests and the scenario."""
import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

import trytond.config as config
from trytond.modules.company.tests import create_company
from trytond.pool import Pool


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server):
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        if self.server.fail > 0:
            self.server.fail -= 1
            return '451 4.3.0 Try again later'
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default)
        self.server.messages.append(message)
        return '250 OK'


class SMTPServer:
    """Local SMTP server; `messages` are the e-mails that arrived, `fail`
    the number of next messages to refuse with a 451"""

    def __init__(self):
        self.messages = []
        self.fail = 0
        self.port = free_port()
        self.controller = Controller(
            _Handler(self), hostname='127.0.0.1', port=self.port)
        self._saved = {}

    def start(self):
        self.controller.start()
        for option, value in [
                ('uri', 'smtp://127.0.0.1:%s' % self.port),
                ('from', 'shop@example.com'),
                ('retry', '0'),
                ]:
            self._saved[option] = config.get('email', option)
            config.set('email', option, value)
        return self

    def stop(self):
        self.controller.stop()
        for option, value in self._saved.items():
            if value is None:
                config._config.remove_option('email', option)
                config._cache_clear()
            else:
                config.set('email', option, value)

    def received(self):
        "[(to, subject, body)] of the e-mails that arrived"
        return [(m['To'], m['Subject'], m.get_content().strip())
            for m in self.messages]


class HTTPProvider:
    "Local HTTP SMS provider; `requests` are the JSON bodies it got"

    def __init__(self, status=200):
        self.requests = []
        self.headers = []
        self.status = status
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length', 0))
                data = json.loads(self.rfile.read(length).decode('utf-8'))
                provider.requests.append(data)
                provider.headers.append(dict(self.headers))
                self.send_response(provider.status)
                self.send_header('Content-Type', 'application/json')
                self.end_headers()
                if provider.status == 200:
                    body = {'id': 'msg-%s' % len(provider.requests)}
                else:
                    body = {'error': 'unavailable'}
                self.wfile.write(json.dumps(body).encode('utf-8'))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%s/send' % self.server.server_port
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def setup_company():
    Currency = Pool().get('currency.currency')
    cny, = Currency.create([{
                'name': "Yuan", 'code': 'CNY', 'symbol': '¥', 'digits': 2}])
    company = create_company(name="Huiyuan Shop", currency=cny)
    company.timezone = 'Asia/Shanghai'
    company.save()
    return company


def setup_notify(company, email=True, sms=True, **values):
    pool = Pool()
    Provider = pool.get('retail.notify.provider')
    Configuration = pool.get('retail.notify.configuration')
    provider = None
    if sms:
        provider = Provider(name="Fake SMS", channel='sms', type='fake')
        provider.save()
    config = Configuration(
        company=company, email=email, sms_provider=provider, **values)
    config.save()
    return config


def create_member(company, name, lang='en', mobile='+8613800000001',
        email='member@example.com', **values):
    pool = Pool()
    Party = pool.get('party.party')
    Lang = pool.get('ir.lang')
    lang, = Lang.search([('code', '=', lang)])
    vals = {
        'name': name,
        'is_member': True,
        'member_company': company.id,
        'member_mobile': mobile,
        'lang': lang.id,
        **values,
        }
    if email:
        vals['contact_mechanisms'] = [('create', [{
                        'type': 'email', 'value': email}])]
    member, = Party.create([vals])
    return member
