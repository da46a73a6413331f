# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Helpers shared by the tests and scenarios"
import random
import time
from io import BytesIO


def make_sheet(header, rows):
    "Return the bytes of an .xlsx with header and rows"
    import openpyxl
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()


def read_sheet(data):
    "Return the rows of the first sheet of an .xlsx as lists"
    import openpyxl
    workbook = openpyxl.load_workbook(BytesIO(data), read_only=True)
    try:
        return [list(r) for r in workbook.worksheets[0].iter_rows(
                values_only=True)]
    finally:
        workbook.close()


def run_in_transaction(func, context=None, retries=100):
    """Run func in its own committed transaction on the test database the
    way the dispatcher does: restart it with the records locked first,
    retry on lock conflicts (concurrency tests, one per thread)."""
    from trytond import backend
    from trytond.tests.test_tryton import DB_NAME, USER
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    for _ in range(retries):
        try:
            with Transaction().start(
                    DB_NAME, USER, context=context or {},
                    **extras) as transaction:
                try:
                    result = func()
                except TransactionError as e:
                    transaction.rollback()
                    e.fix(extras)
                    continue
                except Exception:
                    transaction.rollback()
                    raise
                transaction.commit()
                return result
        except backend.DatabaseOperationalError:
            time.sleep(random.uniform(0.005, 0.05))
    raise RuntimeError("too many retries")
