# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The events of the other modules, caught by extending their models: each
creates its messages in the same transaction as the ledger line (the
messages are sent by the queue after commit)."""
from collections import defaultdict
from decimal import Decimal

from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access


def _translated(record, name):
    "A callable giving the field of record in a language (for format_params)"
    def value(language):
        if not record:
            return ''
        with Transaction().set_context(language=language):
            return getattr(record.__class__(record.id), name)
    return value


def _selection(record, name):
    "A callable giving the label of the selection field in a language"
    def value(language):
        with Transaction().set_context(language=language):
            selection = record.__class__.fields_get([name])[name]['selection']
        return dict(selection).get(getattr(record, name), '')
    return value


class WalletLine(metaclass=PoolMeta):
    __name__ = 'retail.wallet.line'

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        if mode == 'create':
            cls._notify_lines(lines)

    @classmethod
    def _notify_lines(cls, lines):
        Message = Pool().get('retail.notify.message')
        with without_check_access():
            for line in cls.browse(lines):
                origin = line.origin
                origin_model = getattr(origin, '__name__', None)
                if (origin_model == 'retail.wallet.topup'
                        and line.kind in {'topup', 'bonus'}):
                    continue  # one notice per top-up: Topup.do
                balance = line.principal_after + line.bonus_after
                amount = line.principal + line.bonus
                if line.kind == 'payment':
                    event, values = 'wallet_payment', {
                        'amount': -amount, 'balance': balance}
                else:
                    event, values = 'wallet_change', {
                        'amount': amount, 'balance': balance,
                        'reason': _selection(line, 'kind'),
                        }
                Message.notify(
                    event, line.wallet.party, str(line), values=values,
                    company=line.wallet.company, origin=line)


class Topup(metaclass=PoolMeta):
    __name__ = 'retail.wallet.topup'

    @classmethod
    def do(cls, topups):
        super().do(topups)
        cls._notify_topups(topups)

    @classmethod
    def _notify_topups(cls, topups):
        pool = Pool()
        Message = pool.get('retail.notify.message')
        Wallet = pool.get('retail.wallet')
        with without_check_access():
            for topup in cls.browse(topups):
                if topup.state != 'done' or not topup.wallet:
                    continue
                principal, bonus, _ = Wallet._ledger_sums(
                    [topup.wallet.id])[topup.wallet.id]
                Message.notify(
                    'wallet_topup', topup.member, str(topup),
                    values={
                        'amount': topup.amount,
                        'bonus': topup.bonus or Decimal(0),
                        'balance': principal + bonus,
                        },
                    company=topup.company, origin=topup)


class PointsExpiryWarning(metaclass=PoolMeta):
    __name__ = 'retail.points.expiry.warning'

    @classmethod
    def on_modification(cls, mode, warnings, field_names=None):
        super().on_modification(mode, warnings, field_names=field_names)
        if mode == 'create':
            cls._notify_warnings(warnings)

    @classmethod
    def _notify_warnings(cls, warnings):
        "One warning per member and expiry date, the points of its lots"
        Message = Pool().get('retail.notify.message')
        groups = defaultdict(list)
        with without_check_access():
            for warning in cls.browse(warnings):
                groups[(warning.company, warning.member,
                        warning.expiry_date)].append(warning)
            for (company, member, expiry_date), sub in groups.items():
                Message.notify(
                    'points_expiry', member,
                    'points_expiry:%s:%s:%s' % (
                        company.id, member.id, expiry_date.isoformat()),
                    values={
                        'points': sum(w.points for w in sub),
                        'expiry_date': expiry_date,
                        },
                    company=company, origin=sub[0])


class TierHistory(metaclass=PoolMeta):
    __name__ = 'retail.member.tier.history'

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode == 'create':
            cls._notify_upgrades(records)

    @classmethod
    def _notify_upgrades(cls, records):
        Message = Pool().get('retail.notify.message')
        with without_check_access():
            for history in cls.browse(records):
                if history.kind != 'upgrade' or not history.to_tier:
                    continue
                Message.notify(
                    'tier_upgrade', history.member, str(history),
                    values={
                        'tier': _translated(history.to_tier, 'name'),
                        'old_tier': _translated(history.from_tier, 'name'),
                        },
                    company=history.to_tier.company, origin=history)
