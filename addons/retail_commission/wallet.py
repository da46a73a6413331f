# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
"""Commission on stored value (registered only with retail_wallet).

- Top-up (充值提成): the top-up's employee earns the ``topup`` rules on the
  principal paid (the bonus is not money received), when the top-up is done.
- Stored value spent (储值消费提成): a POS sale paid from the wallet gives the
  sale's staff the ``wallet_spend`` rules on the wallet amount, split in
  proportion to each employee's part of the sale's lines; a return refunded
  to the wallet reverses it in proportion to the amount refunded.
"""
from collections import defaultdict
from decimal import Decimal

from trytond.model import ModelView
from trytond.modules.retail_member.tools import extends_transition
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access

ZERO = Decimal(0)


class CommissionLine(metaclass=PoolMeta):
    __name__ = 'retail.commission.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['retail.wallet.topup']


class Topup(metaclass=PoolMeta):
    __name__ = 'retail.wallet.topup'

    @classmethod
    @ModelView.button
    @extends_transition('done')
    def do(cls, topups):
        super().do(topups)
        cls.process_commission(topups)

    @classmethod
    def process_commission(cls, topups):
        "Record the top-up commission of the top-ups' employees (idempotent)"
        pool = Pool()
        Line = pool.get('retail.commission.line')
        for topup in topups:
            if topup.employee and topup.amount:
                Line.record(topup, topup.employee, topup.amount, 'topup',
                    date=topup.date, member=True)


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    @classmethod
    def get_commission_values(cls, sales, cache):
        pool = Pool()
        Line = pool.get('retail.commission.line')
        values = super().get_commission_values(sales, cache)
        # the sales' own lines, read by super() already (a payment's sale
        # is another instance, which would read them again)
        payments = [(p, s) for s in sales for p in s.payments
            if p.method.retail_wallet and p.amount]
        if all(p.amount > 0 for p, _ in payments) and not any(
                ln.staff for _, s in payments for ln in s.lines
                if ln.quantity > 0):
            # a payment earns commission for the staff of the sold lines
            # only: nobody to pay nor to look up
            return values
        payments = [p for p, _ in payments if p.wallet_lines]
        if not payments:
            return values
        # the refunded payments: their commission is reversed
        originals = {}
        for payment in payments:
            if payment.amount < 0 and payment.wallet_refund_of:
                origin = payment.wallet_refund_of.origin
                if origin and origin.__name__ == 'sale.point.payment':
                    originals[payment.id] = origin
        origins = list({str(p) for p in payments}
            | {str(o) for o in originals.values()})
        recorded, reversed_ = set(), set()
        earned = defaultdict(list)
        with without_check_access():
            for line in Line.search([
                        ('origin', 'in', origins),
                        ('kind', 'in', ['wallet_spend', 'refund']),
                        ], order=[('id', 'ASC')]):
                if line.reversal_of:
                    reversed_.add((str(line.origin), line.reversal_of.id))
                else:
                    recorded.add((str(line.origin), line.employee.id))
                    earned[str(line.origin)].append(line)
            previous = defaultdict(list)
            earned_ids = [c.id for cs in earned.values() for c in cs]
            if earned_ids:
                for line in Line.search([
                            ('reversal_of', 'in', earned_ids),
                            ], order=[('id', 'ASC')]):
                    previous[line.reversal_of.id].append(line)
        for payment in payments:
            sale = payment.sale
            if payment.amount < 0:
                original = originals.get(payment.id)
                if not original:
                    continue  # change stored in the wallet (找零转存)
                for line in earned[str(original)]:
                    if (str(payment), line.id) in reversed_:
                        continue
                    reversal = Line.reversal_values(
                        line, payment, float(-payment.amount), sale.date,
                        previous[line.id])
                    if reversal:
                        previous[line.id].append(reversal)
                        values.append(reversal)
                continue
            scheme = cache.in_force(sale.company, sale.date)
            if not scheme:
                continue
            parts, requested, total = cls._commission_wallet_parts(
                sale, scheme)
            if not total:
                continue
            for employee, part in parts.items():
                if (str(payment), employee.id) in recorded:
                    continue
                base = payment.amount * part / total
                values.append(Line.line_values(
                        payment, employee, base, 'wallet_spend',
                        float(payment.amount), sale.date,
                        requested=requested[employee], member=True,
                        scheme=scheme, cache=cache))
        return values

    @classmethod
    def _commission_wallet_parts(cls, sale, scheme):
        """Return each employee's part of the sale's sold lines, whether the
        customer asked for them, and the total of the sold lines (lines
        without staff count in the total: their part earns nothing)"""
        parts = defaultdict(lambda: ZERO)
        requested = defaultdict(bool)
        total = ZERO
        for line in sale.lines:
            if line.quantity <= 0:
                continue
            base = line._commission_base(scheme)
            total += base
            for staff in line.staff:
                parts[staff.employee] += base * staff.share
                requested[staff.employee] |= bool(staff.requested)
        return parts, requested, total
