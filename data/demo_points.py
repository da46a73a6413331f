"""Demo data of points (积分): an opening gift of points (开业赠送积分) for the
first 30 demo members (the ones with a wallet), given through the manual
adjustment a manager uses (operator and reason recorded in the ledger), so
the POS can pay with points from the first sale: the points the demo sales
earned stay locked for the return window (7 days).

Run by data/demo.py (seed_areas) when retail_points is activated;
idempotent: a member whose ledger has the gift is skipped.
"""
import datetime as dt

MODULES = ('retail_points',)

MEMBERS = 30
REASON = '开业赠送积分 Opening gift'


def log(msg):
    print(f'  points: {msg}', flush=True)


def seed(ctx):
    from proteus import Model, Wizard
    Party = Model.get('party.party')
    Line = Model.get('retail.points.line')
    members = Party.find([('is_member', '=', True)],
        order=[('member_number', 'ASC')], limit=MEMBERS)
    given = {line.member.id for line in Line.find([
                ('kind', '=', 'adjust'), ('reason', '=', REASON)])}
    expiry = dt.date.today() + dt.timedelta(days=365)
    done = 0
    for i, member in enumerate(members):
        if member.id in given:
            continue
        adjust = Wizard('retail.points.adjust')
        adjust.form.company = ctx['company']
        adjust.form.member = member
        adjust.form.points = 500 + 250 * (i % 11)
        adjust.form.reason = REASON
        adjust.form.expiry_date = expiry
        adjust.execute('adjust')
        done += 1
    if done:
        log(f'an opening gift of points for {done} members')
