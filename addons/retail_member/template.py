# This file is part of Huiyuan.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Build the member import template (data/member_import_template.xlsx)
and sample sheets for demos and load tests.

Run: python -m trytond.modules.retail_member.template [path]
     python -m trytond.modules.retail_member.template --sample N path
         [--tiers GOLD,SILVER] [--shops SH01,SH02] [--seed 1]"""
import argparse
import datetime as dt
import random
import sys
from io import BytesIO

# key: (English, format, example)
HELP = {
    'member_number': (
        "Member number; empty: numbered by the member sequence",
        "text, unique", "VIP000123"),
    'name': ("Name of the member (required)", "text", "张三"),
    'mobile': (
        "Mobile phone; any common format, stored as +86...",
        "text, unique", "138 1234 5678"),
    'birth_date': ("Birthday, not in the future", "date YYYY-MM-DD",
        "1990-05-04"),
    'gender': ("Gender", "female / male / other (女 / 男 / 其他)", "女"),
    'tier_code': ("Code of an existing tier", "text", "GOLD"),
    'card_number': (
        "Number of the member card to issue; format the column as text",
        "text, unique among cards not closed", "88000001"),
    'card_medium': (
        "Card medium (default magstripe)",
        "magstripe / rfid / ic / qr / virtual (磁条卡 / 射频卡 / IC卡 / "
        "二维码 / 电子卡)", "rfid"),
    'card_named': ("Named card (default yes)", "yes / no (是 / 否)", "是"),
    'shop_code': ("Code of the shop of registration", "text", "SH01"),
    'tags': (
        "Tags (party categories), created when missing",
        "separated by , ， ; 、", "咖啡, 烘焙"),
    'consent_sms': ("Accepts marketing SMS (default no)", "yes / no", "是"),
    'consent_email': (
        "Accepts marketing e-mail (default no)", "yes / no", "否"),
    'join_date': ("Join date (default today)", "date YYYY-MM-DD",
        "2024-01-15"),
    }


def build_template():
    "Return the bytes of the import template"
    import openpyxl
    from openpyxl.styles import Font

    from .exchange import COLUMNS

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = 'members'
    sheet.append([key for key, _, _ in COLUMNS])
    bold = Font(bold=True)
    for index, (key, _, _) in enumerate(COLUMNS, 1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = max(14, len(key) + 4)
        # Text format keeps leading zeros and long card numbers intact
        if key in {'member_number', 'mobile', 'card_number'}:
            sheet.column_dimensions[letter].number_format = '@'
    sheet.freeze_panes = 'A2'

    help_ = workbook.create_sheet('说明 Columns')
    help_.append([
            "列 Column", "中文", "说明 Description", "必填 Required",
            "格式 Format", "示例 Example"])
    for cell in help_[1]:
        cell.font = bold
    for key, label, required in COLUMNS:
        description, format_, example = HELP[key]
        help_.append([
                key, label, description, "是 yes" if required else "否 no",
                format_, example])
    for letter, width in zip('ABCDEF', [16, 14, 60, 12, 50, 18]):
        help_.column_dimensions[letter].width = width
    help_.append([])
    help_.append([
            "一批全部成功或全部不导入: 任一行被拒绝则不写入任何数据。"])
    help_.append([
            "A batch is all-or-nothing: nothing is written if any row is "
            "rejected. Check first, fix the rejected rows, check again, "
            "then import."])
    help_.append([
            "Headers may be the keys (first column) or the Chinese "
            "names; column order is free; only name is required."])
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
TAGS = ["咖啡", "烘焙", "母婴", "运动", "美妆", "宠物", "生鲜"]


def build_sample(count, tiers=(), shops=(), seed=1):
    "Return the bytes of a valid sheet of count members"
    import openpyxl

    from .exchange import COLUMNS

    rng = random.Random(seed)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet('members')
    sheet.append([key for key, _, _ in COLUMNS])
    prefixes = ['138', '139', '137', '150', '151', '186', '188']
    for i in range(count):
        name = rng.choice(SURNAMES) + ''.join(
            rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        values = {
            'member_number': f'S{seed:02d}{i:07d}',
            'name': name,
            'mobile': f'{prefixes[i % len(prefixes)]}{seed % 10}{i:07d}',
            'birth_date': dt.date(1960, 1, 1) + dt.timedelta(
                days=rng.randint(0, 16000)),
            'gender': rng.choice(['女', '男', None]),
            'tier_code': rng.choice(tiers) if tiers else None,
            'card_number': f'9{seed:02d}{i:08d}',
            'card_medium': rng.choice(['magstripe', 'rfid', 'qr']),
            'card_named': rng.random() < 0.9,
            'shop_code': rng.choice(shops) if shops else None,
            'tags': ', '.join(rng.sample(TAGS, rng.randint(0, 2))) or None,
            'consent_sms': rng.random() < 0.6,
            'consent_email': rng.random() < 0.3,
            'join_date': dt.date(2023, 1, 1) + dt.timedelta(
                days=rng.randint(0, 600)),
            }
        sheet.append([values[key] for key, _, _ in COLUMNS])
    output = BytesIO()
    workbook.save(output)
    return output.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('path', nargs='?')
    parser.add_argument('--sample', type=int, metavar='N',
        help="write a sample of N valid members instead of the template")
    parser.add_argument('--tiers', default='',
        help="comma-separated tier codes to use in the sample")
    parser.add_argument('--shops', default='',
        help="comma-separated shop codes to use in the sample")
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args(argv)
    if args.sample:
        data = build_sample(
            args.sample, [t for t in args.tiers.split(',') if t],
            [s for s in args.shops.split(',') if s], args.seed)
    else:
        data = build_template()
    if args.path:
        with open(args.path, 'wb') as file:
            file.write(data)
    else:
        sys.stdout.buffer.write(data)


if __name__ == '__main__':
    main()
