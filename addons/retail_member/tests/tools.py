# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"Helpers shared by the tests and scenarios"
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
