"""A small JSON-RPC client for trytond, over real HTTP."""
import base64
import json
import urllib.error
import urllib.request
from decimal import Decimal


class RPCError(Exception):
    pass


def _default(obj):
    if isinstance(obj, Decimal):
        return {'__class__': 'Decimal', 'decimal': str(obj)}
    raise TypeError(repr(obj))


def _hook(obj):
    if obj.get('__class__') == 'Decimal':
        return Decimal(obj['decimal'])
    return obj


class Client:
    def __init__(self, url, database):
        self.url = f'{url}/{database}/rpc/'
        self.auth = None
        self.context = {}
        self._id = 0

    def call(self, method, *params):
        self._id += 1
        body = json.dumps({'id': self._id, 'method': method,
                'params': list(params)}, default=_default).encode()
        request = urllib.request.Request(self.url, data=body,
            headers={'Content-Type': 'application/json'})
        if self.auth:
            request.add_header('Authorization', self.auth)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                result = json.loads(response.read(), object_hook=_hook)
        except urllib.error.HTTPError as error:
            raise RPCError(error.code, error.reason) from error
        if result.get('error'):
            raise RPCError(result['error'])
        return result['result']

    def login(self, login, password):
        user_id, session = self.call(
            'common.db.login', login, {'password': password}, 'en')[:2]
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.auth = f'Session {token}'
        self.context = self.call('model.res.user.get_preferences', True, {})
        return user_id

    def model(self, name, method, *args):
        return self.call(f'model.{name}.{method}', *args, self.context)
