# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""SMS and WeChat gateways: one interface, one adapter per provider.

A gateway sends one text to one recipient and returns the provider's message
id; it raises GatewayError when the provider refuses or cannot be reached
(the message is then retried).  Register a new provider type with
`register_gateway('name', Class)` and extend the selection of
`retail.notify.provider.type`.
"""
import json
import urllib.error
import urllib.request
import uuid

from trytond.pool import Pool
from trytond.transaction import without_check_access

from .exceptions import GatewayError

GATEWAYS = {}


def register_gateway(name, gateway):
    GATEWAYS[name] = gateway
    return gateway


def get_gateway(provider):
    "Return the gateway instance of a retail.notify.provider record"
    try:
        return GATEWAYS[provider.type](provider)
    except KeyError:
        raise GatewayError(
            'unknown provider type %r' % provider.type) from None


class Gateway:
    "The interface every provider adapter implements"

    def __init__(self, provider):
        self.provider = provider

    def send(self, recipient, text, template_code=None, params=None):
        """Send text to recipient (a mobile in E.164 or a WeChat id);
        return the provider message id or raise GatewayError"""
        raise NotImplementedError


class FakeGateway(Gateway):
    """Stores the message in retail.notify.fake.outbox (same transaction as
    the message log) instead of sending it: for tests and the demo"""

    def send(self, recipient, text, template_code=None, params=None):
        Outbox = Pool().get('retail.notify.fake.outbox')
        if self.provider.fake_fail:
            raise GatewayError('fake provider set to fail')
        message_id = 'fake-%s' % uuid.uuid4().hex
        with without_check_access():
            Outbox.create([{
                        'provider': self.provider.id,
                        'channel': self.provider.channel,
                        'recipient': recipient,
                        'text': text,
                        'template_code': template_code,
                        'params': json.dumps(
                            params or {}, ensure_ascii=False, sort_keys=True),
                        'provider_message_id': message_id,
                        }])
        return message_id


class HTTPGateway(Gateway):
    """A JSON-over-HTTP adapter skeleton: POST to the provider URL

        {"to": ..., "text": ..., "template": ..., "params": {...},
         "sender": ..., "channel": "sms" | "wechat"}

    with `Authorization: Bearer <api key>`; a 2xx answer with a JSON body
    `{"id": "..."}` (or `message_id`) is a success.  Real providers (Aliyun,
    Tencent Cloud SMS, WeChat template messages) sign requests their own way:
    subclass it and override `request()` / `parse()`."""

    timeout = 10

    def request(self, recipient, text, template_code, params):
        body = json.dumps({
                'to': recipient,
                'text': text,
                'template': template_code,
                'params': params or {},
                'sender': self.provider.sender,
                'channel': self.provider.channel,
                }, ensure_ascii=False).encode('utf-8')
        request = urllib.request.Request(
            self.provider.url, data=body, method='POST',
            headers={'Content-Type': 'application/json; charset=utf-8'})
        if self.provider.api_key:
            request.add_header(
                'Authorization', 'Bearer %s' % self.provider.api_key)
        return request

    def parse(self, status, body):
        try:
            data = json.loads(body.decode('utf-8') or '{}')
        except ValueError:
            raise GatewayError('invalid answer (HTTP %s)' % status) from None
        message_id = data.get('id') or data.get('message_id')
        if not message_id:
            raise GatewayError(
                'no message id in answer (HTTP %s): %s'
                % (status, data.get('error') or data))
        return str(message_id)

    def send(self, recipient, text, template_code=None, params=None):
        if not self.provider.url:
            raise GatewayError('provider has no URL')
        request = self.request(recipient, text, template_code, params)
        try:
            with urllib.request.urlopen(
                    request, timeout=self.timeout) as response:
                return self.parse(response.status, response.read())
        except urllib.error.HTTPError as e:
            raise GatewayError('HTTP %s: %s' % (
                    e.code, e.read()[:200].decode('utf-8', 'replace'))) from e
        except (urllib.error.URLError, OSError) as e:
            raise GatewayError('cannot reach provider: %s' % e) from e


register_gateway('fake', FakeGateway)
register_gateway('http', HTTPGateway)
