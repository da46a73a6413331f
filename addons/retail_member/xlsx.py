# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Fast reading of the cells of an .xlsx sheet.

openpyxl opens the workbook (sheet list, shared strings, date styles, the
validation of the file); the cells are then read with lxml's iterparse,
which is several times faster than openpyxl's read-only worksheet: that one
builds an object per cell (and a rich-text tree per inline string, which is
what openpyxl itself writes).  The values are those of
``sheet.iter_rows(values_only=True)``: str, int, float, bool, datetime or
None."""
import functools
import zipfile

from lxml import etree
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._reader import _cast_number

NS = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
ROW = NS + 'row'
CELL = NS + 'c'
VALUE = NS + 'v'
INLINE = NS + 'is'
TEXT = NS + 't'
PHONETIC = NS + 'rPh'
DIGITS = '0123456789'


class SheetError(ValueError):
    "The sheet's XML is broken"


def iter_rows(sheet):
    """Yield the rows of a read-only openpyxl worksheet as tuples of values,
    from row 1; a missing row is an empty tuple, a missing cell None.
    Raises SheetError when the sheet cannot be read."""
    try:
        yield from _iter_rows(sheet)
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError, IndexError,
            ValueError, OverflowError) as exception:
        raise SheetError(str(exception)) from exception


def _iter_rows(sheet):
    workbook = sheet.parent
    shared = sheet._shared_strings
    dates = workbook._date_formats
    epoch = workbook.epoch
    expected = 1
    with sheet._get_source() as source:
        parser = etree.iterparse(source, events=('end',), tag=ROW,
            resolve_entities=False, no_network=True, huge_tree=True)
        for _, row in parser:
            number = row.get('r')
            number = int(number) if number else expected
            while expected < number:
                yield ()
                expected += 1
            values = []
            for cell in row.iterchildren(CELL):
                reference = cell.get('r')
                if reference:
                    column = _column(reference.rstrip(DIGITS))
                else:
                    column = len(values) + 1
                if column > len(values):
                    values.extend([None] * (column - len(values)))
                values[column - 1] = _value(cell, shared, dates, epoch)
            # free what was parsed: a sheet of 100k rows stays small
            row.clear()
            while row.getprevious() is not None:
                del row.getparent()[0]
            yield tuple(values)
            expected = number + 1


@functools.lru_cache(maxsize=1024)
def _column(letters):
    return column_index_from_string(letters)


def _value(cell, shared, dates, epoch):
    kind = cell.get('t', 'n')
    if kind == 'inlineStr':
        texts = list(cell.itertext(TEXT))
        if len(texts) > 1:
            # rich text: its runs, without the phonetic guide (rPh)
            texts = [t.text or '' for t in cell.iter(TEXT)
                if t.getparent().tag != PHONETIC]
        return ''.join(texts) if texts else None
    value = cell.findtext(VALUE)
    if value is None:
        return None
    if kind == 's':
        return shared[int(value)]
    if kind == 'b':
        return bool(int(value))
    if kind == 'd':
        return from_ISO8601(value)
    if kind in {'str', 'e'}:
        return value
    value = _cast_number(value)
    style = cell.get('s')
    if style is not None and int(style) in dates:
        try:
            return from_excel(value, epoch)
        except (ValueError, OverflowError):
            return value
    return value
