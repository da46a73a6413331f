# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""HTTP routes of the POS: the JSON API under
``/<database>/retail_pos/api/v1/`` (documented by openapi.yaml) and the
browser POS under ``/<database>/retail_pos/``.

Each API call runs in one transaction started here (not with Tryton's
``with_transaction``, which runs as root and retries a lock conflict only
``[database] retry`` times): the bearer token is checked first, then the
work runs as the cashier's user with the till's company and the cashier's
language (or ``Accept-Language``). A lock conflict restarts the
transaction (Tryton's ``TransactionError`` with the locks taken first, or
a ``DatabaseOperationalError``) with a short random back-off, for up to
``RETRY_SECONDS``: a sale is never refused because another till holds a
row. Every error is answered as ``{"error": {"code", "message", "field"}}``
with the message in the cashier's language; never a traceback."""
import gc
import json
import logging
import mimetypes
import os
import random
import time
import uuid as uuid_module
from functools import wraps

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.utils import send_from_directory

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.protocols.wrappers import Response, allow_null_origin, with_pool
from trytond.transaction import Transaction, TransactionError
from trytond.wsgi import app

from .exceptions import PosError

logger = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = os.path.join(HERE, 'static')
API = '/<database_name>/retail_pos/api/v1/'
RETRY_SECONDS = 20
LANGUAGES = {'zh': 'zh_CN', 'en': 'en'}

# class name of an upstream/module UserError -> (code, HTTP status)
ERROR_CODES = {
    'InsufficientBalanceError': ('insufficient_balance', 409),
    'PINError': ('wallet_pin', 403),
    'IdentifyError': ('member_not_found', 404),
    'RedemptionError': ('points_invalid', 422),
    'CountCardError': ('count_card_invalid', 422),
    'CouponError': ('coupon_invalid', 422),
    'ComplianceError': ('compliance', 422),
    'WalletError': ('wallet_invalid', 422),
    'MemberCardError': ('card_not_usable', 422),
    'CardStateError': ('card_not_usable', 422),
    'AccessError': ('forbidden', 403),
    }


def json_response(data, status=200, headers=None):
    response = Response(
        json.dumps(data, ensure_ascii=False, default=str),
        status=status, content_type='application/json; charset=utf-8')
    response.headers['Cache-Control'] = 'no-store'
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(code, message, status, field=None):
    return json_response({'error': {
                'code': code, 'message': message, 'field': field}},
        status=status)


def _language(request, default):
    header = request.headers.get('Accept-Language') or ''
    for item in header.split(','):
        tag = item.split(';')[0].strip().lower().replace('-', '_')
        if tag[:2] in LANGUAGES:
            return LANGUAGES[tag[:2]]
    return default or 'zh_CN'


def _bearer(request):
    header = request.headers.get('Authorization') or ''
    scheme, _, token = header.partition(' ')
    if scheme.lower() == 'bearer' and token.strip():
        return token.strip()
    return None


def _user_error(exception):
    for klass in type(exception).__mro__:
        if klass.__name__ in ERROR_CODES:
            code, status = ERROR_CODES[klass.__name__]
            break
    else:
        code, status = 'rejected', 422
    return code, status


def _body(request):
    if request.method not in {'POST', 'PUT', 'PATCH'}:
        return None
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise PosError(gettext('retail_pos.msg_bad_json'),
            code='invalid_json', status=400) from None
    _check_text(data)
    return data


def _check_text(value):
    "Refuse NUL characters (the database refuses them in text)"
    if isinstance(value, str):
        if '\x00' in value:
            raise PosError(gettext('retail_pos.msg_bad_value'),
                code='invalid_request', status=400)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def api_route(path, methods, auth=True):
    """Register func(api, cashier, point, request, body, **kw) as an API
    call; func returns the JSON answer (a dict)"""
    def decorator(func):
        @wraps(func)
        def endpoint(request, pool, **kwargs):
            return run(request, pool, func, auth, kwargs)
        app.route(API + path, methods=methods)(
            allow_null_origin(with_pool(endpoint)))
        return func
    return decorator


_startup_frozen = False


def freeze_startup_objects():
    """Put what the process loaded before its first API call (the pool's
    models, fields and caches: about 240,000 objects) out of the garbage
    collector's reach.  A full collection otherwise walks them all: an
    80-100 ms pause, once every few dozen sales, of every request the
    process is serving.  Garbage first, so that no dead cycle is kept."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.collect()
        gc.freeze()


def run(request, pool, func, auth, kwargs):
    freeze_startup_objects()
    readonly = request.method in {'GET', 'HEAD'}
    language = _language(request, None)
    extras = {}
    deadline = time.monotonic() + RETRY_SECONDS
    attempt = 0
    while True:
        try:
            with Transaction().start(
                    pool.database_name, 0, readonly=readonly,
                    context={'language': language},
                    **extras) as transaction:
                try:
                    response = _call(request, pool, func, auth, kwargs,
                        language)
                except TransactionError as e:
                    transaction.rollback()
                    e.fix(extras)
                    continue
                except backend.DatabaseOperationalError:
                    transaction.rollback()
                    raise
                except backend.DatabaseIntegrityError:
                    # a concurrent request with the same UUID committed
                    # first: the retry finds its result
                    transaction.rollback()
                    raise backend.DatabaseOperationalError() from None
                except PosError as e:
                    transaction.rollback()
                    return error_response(e.code, e.message, e.status,
                        e.field)
                except (UserError, UserWarning) as e:
                    transaction.rollback()
                    if _is_integrity(e) and attempt < 3:
                        raise backend.DatabaseOperationalError() from None
                    code, status = _user_error(e)
                    return error_response(code, e.message, status)
                except HTTPException:
                    transaction.rollback()
                    raise
                except Exception:
                    transaction.rollback()
                    reference = uuid_module.uuid4().hex[:8]
                    logger.exception('POS API error %s', reference)
                    return error_response('internal_error', gettext(
                            'retail_pos.msg_internal_error',
                            reference=reference), 500)
                if readonly:
                    transaction.rollback()
                else:
                    transaction.commit()
                return response
        except backend.DatabaseOperationalError as e:
            attempt += 1
            logger.debug('POS API retry %s: %s', attempt, e)
            if time.monotonic() > deadline:
                logger.warning('POS API gave up after %s retries', attempt)
                return error_response('busy', 'Busy, try again / 系统繁忙，请重试',
                    503)
            time.sleep(random.uniform(0.002, 0.01 * min(attempt, 10)))


def _is_integrity(exception):
    from trytond.model.modelsql import SQLConstraintError
    return isinstance(exception, SQLConstraintError)


def _call(request, pool, func, auth, kwargs, language):
    transaction = Transaction()
    API = pool.get('retail.pos.api')
    body = _body(request)
    _check_text(dict(request.args))
    if not auth:
        return json_response(func(API, None, None, request, body, **kwargs))
    Token = pool.get('retail.pos.token')
    found = Token.authenticate(_bearer(request))
    if not found:
        raise PosError(gettext('retail_pos.msg_unauthorized'),
            code='unauthorized', status=401)
    context = {
        'company': found.company,
        'companies': [found.company],
        'language': _language(request, found.language),
        'employee': found.employee,
        'retail_pos_employee_company': found.employee_company,
        'retail_pos_token': found.token,
        }
    with transaction.set_user(found.user), \
            transaction.set_context(**context):
        # the records are made under the cashier's user and context: what
        # the call reads through them (the till's company, its currency...)
        # shares the record cache of everything else it reads
        token = Token(found.token)
        cashier = pool.get('retail.pos.cashier')(found.cashier)
        point = pool.get('sale.point')(found.point)
        return json_response(func(API, cashier, point, request, body,
                token=token, **kwargs))


# ---------------------------------------------------------------- API calls

@api_route('login', ['POST'], auth=False)
def login(api, cashier, point, request, body):
    return api.login(body)


@api_route('logout', ['POST'])
def logout(api, cashier, point, request, body, token):
    return api.logout(token)


@api_route('config', ['GET'])
def config_(api, cashier, point, request, body, token):
    return api.config(cashier, point)


@api_route('session/open', ['POST'])
def session_open(api, cashier, point, request, body, token):
    return api.session_open(cashier, point, body)


@api_route('session/close', ['POST'])
def session_close(api, cashier, point, request, body, token):
    return api.session_close(cashier, point, body)


@api_route('session/report', ['GET'])
def session_report(api, cashier, point, request, body, token):
    return {'report': api.session_report(cashier, point)}


@api_route('catalog', ['GET'])
def catalog(api, cashier, point, request, body, token):
    return api.catalog(cashier, point, request.args.get('since'))


@api_route('members/identify', ['GET'])
def identify(api, cashier, point, request, body, token):
    return api.identify(cashier, point, request.args.get('code'))


@api_route('members/search', ['GET'])
def search(api, cashier, point, request, body, token):
    return api.search_members(cashier, point, request.args.get('q'))


@api_route('quote', ['POST'])
def quote(api, cashier, point, request, body, token):
    return api.quote(cashier, point, body)


@api_route('checkout', ['POST'])
def checkout(api, cashier, point, request, body, token):
    return api.checkout(cashier, point, body)


@api_route('wallet/pin', ['POST'])
def wallet_pin(api, cashier, point, request, body, token):
    return api.wallet_pin(cashier, point, body)


@api_route('refund', ['POST'])
def refund(api, cashier, point, request, body, token):
    return api.refund(cashier, point, body)


@api_route('topup', ['POST'])
def topup(api, cashier, point, request, body, token):
    return api.topup(cashier, point, body)


@api_route('receipt/<int:sale_id>', ['GET'])
def receipt(api, cashier, point, request, body, token, sale_id):
    return api.receipt(cashier, point, sale_id)


@app.route(API + 'openapi.yaml', methods=['GET'])
@allow_null_origin
def openapi(request, database_name):
    with open(os.path.join(HERE, 'openapi.yaml'), 'rb') as fp:
        data = fp.read()
    response = Response(data, content_type='application/yaml; charset=utf-8')
    response.headers['Cache-Control'] = 'no-cache'
    return response


# ---------------------------------------------------------------- front end

CONTENT_TYPES = {
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.html': 'text/html; charset=utf-8',
    '.json': 'application/json; charset=utf-8',
    '.webmanifest': 'application/manifest+json; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.xml': 'application/xml; charset=utf-8',
    '.woff2': 'font/woff2',
    }


def _static(request, database_name, path):
    if not os.path.isdir(STATIC):
        raise NotFound()
    kind = CONTENT_TYPES.get(os.path.splitext(path)[1].lower())
    if kind is None:
        kind = mimetypes.guess_type(path)[0] or 'application/octet-stream'
    response = send_from_directory(STATIC, path, request.environ,
        mimetype=kind.split(';')[0])
    response.headers['Content-Type'] = kind
    # Always revalidate (ETag): the service worker keeps the offline copy
    response.headers['Cache-Control'] = 'no-cache'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    if os.path.basename(path) in {'sw.js', 'service-worker.js'}:
        response.headers['Service-Worker-Allowed'] = (
            '/%s/retail_pos/' % database_name)
    return response


@app.route('/<database_name>/retail_pos/', methods=['GET'])
def pos_index(request, database_name):
    return _static(request, database_name, 'index.html')


@app.route('/<database_name>/retail_pos/static/<path:path>',
    methods=['GET'])
def pos_static(request, database_name, path):
    return _static(request, database_name, path)

