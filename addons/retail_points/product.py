# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    points_excluded = fields.Boolean(
        "Excluded from Points",
        help="Check for products that never earn points: top-ups, "
        "gift cards, count cards, delivery.")

    @classmethod
    def default_points_excluded(cls):
        return False

