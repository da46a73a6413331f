# This file is part of Huiyuan.  See the COPYRIGHT file at the top level
# of this repository for the full copyright notices and license terms.
from trytond.pool import Pool, PoolMeta


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        pool = Pool()
        User = pool.get('res.user')
        key = super()._get_cache_key(model_names)
        return (*key, User.get_employees())

    @classmethod
    def _get_context(cls, model_name):
        pool = Pool()
        User = pool.get('res.user')
        context = super()._get_context(model_name)
        # The employees of the user: staff see their own commission
        context['employees'] = User.get_employees()
        return context
