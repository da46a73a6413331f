# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.tests.test_tryton import ModuleTestCase


class RetailMemberTestCase(ModuleTestCase):
    "Test Retail Member module"
    module = 'retail_member'
    extras = ['sale_point']


del ModuleTestCase
