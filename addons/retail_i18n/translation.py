"""Make Tryton's translation overriding usable for whole catalogues.

`ir.translation.translation_import` overrides another module's translation
when an entry's msgctxt names it (`model:ir.ui.menu,name:sale_point.menu_point`,
`field:sale.point.sale,number:sale_point.`), but only when that module's row
for the language already exists: it does `translation, = cls.search(...)`.
A row is missing when the upstream catalogue lacks the entry (strings added
after its last translation sync) or when the target module is not activated
(sale_gift_card is optional here), and the import then crashes.

Before the import, this creates the missing rows with an empty value (so the
override fills them in) and leaves out the entries of modules that are not
activated. A fuzzy target row is emptied too, or an override with the same
text would keep it fuzzy (the override only writes when the value changed).
"""
import os
import tempfile
from collections import defaultdict

import polib

from trytond.pool import Pool, PoolMeta

# Same rule as Translation.translation_import.override_translation
SRC_TYPES = {'report', 'view', 'wizard_button', 'selection'}


class Translation(metaclass=PoolMeta):
    __name__ = 'ir.translation'

    @classmethod
    def translation_import(cls, lang, module, po_path):
        if isinstance(po_path, str):
            po_path = [po_path]
        pofiles = [polib.pofile(p) for p in po_path]
        overrides = [e for pofile in pofiles for e in pofile
            if not e.obsolete and e.msgctxt
            and '.' in e.msgctxt.split(':')[-1]]
        if not overrides:
            return super().translation_import(lang, module, po_path)
        skipped = cls._prepare_overrides(lang, overrides, module)
        paths = []
        try:
            for pofile in pofiles:
                kept = polib.POFile(wrapwidth=0)
                kept.metadata = pofile.metadata
                for entry in pofile:
                    if id(entry) not in skipped:
                        kept.append(entry)
                fd, path = tempfile.mkstemp(suffix=f'.{lang}.po')
                os.close(fd)
                kept.save(path)
                paths.append(path)
            return super().translation_import(lang, module, paths)
        finally:
            for path in paths:
                os.unlink(path)

    @classmethod
    def _prepare_overrides(cls, lang, entries, module):
        """Create the rows the overrides need; return the ids of the entries
        to leave out (their module is not activated or their record gone)"""
        pool = Pool()
        Module = pool.get('ir.module')
        ModelData = pool.get('ir.model.data')

        targets = {e.msgctxt.split(':')[-1].split('.')[0] for e in entries}
        activated = {m.name for m in Module.search([
                    ('name', 'in', list(targets)),
                    ('state', '=', 'activated'),
                    ])}
        fs_ids = {(d.module, d.fs_id): d.db_id for d in ModelData.search([
                    ('module', 'in', list(activated)),
                    ])}
        existing = defaultdict(list)
        for translation in cls.search([
                    ('lang', '=', lang),
                    ('module', 'in', list(activated)),
                    ], order=[]):
            existing[cls._override_key(translation.module, translation.type,
                    translation.name, translation.res_id, translation.src,
                    translation.src_plural)].append(translation)

        skipped, to_create, to_empty, direct = set(), [], [], []
        for entry in entries:
            ttype, name, res_id = entry.msgctxt.split(':')
            target, fs_id = res_id.split('.', 1)
            if target not in activated:
                skipped.add(id(entry))
                continue
            if fs_id:
                db_id = fs_ids.get((target, fs_id))
                if db_id is None:
                    skipped.add(id(entry))
                    continue
            else:
                db_id = -1
            key = cls._override_key(target, ttype, name, db_id,
                entry.msgid, entry.msgid_plural or None)
            rows = existing.get(key)
            if rows and len(rows) > 1:
                # Several rows share the key: the help texts of a
                # selection (help_selection) differ only by src, which
                # override_translation does not search on. Apply it here.
                skipped.add(id(entry))
                same = [r for r in rows if r.src == entry.msgid]
                if same:
                    direct.extend((r, entry.msgstr) for r in same)
                else:
                    to_create.append(cls(lang=lang, module=target,
                            type=ttype, name=name, res_id=db_id,
                            src=entry.msgid, value=entry.msgstr,
                            fuzzy=False, overriding_module=module))
                continue
            if not rows:
                row = cls(lang=lang, module=target, type=ttype, name=name,
                    res_id=db_id, src=entry.msgid,
                    src_plural=entry.msgid_plural or None, value='',
                    fuzzy=False)
                existing[key] = [row]
                to_create.append(row)
            else:
                to_empty.extend(r for r in rows if r.fuzzy)
        if to_create:
            cls.save(to_create)
        if to_empty:
            cls.write(to_empty, {'value': '', 'fuzzy': False})
        for row, value in direct:
            row.value = value
            row.fuzzy = False
            row.overriding_module = module
        cls.save([r for r, _ in direct])
        cls._set_help_selection(lang, entries, module, activated)
        return skipped

    @classmethod
    def _set_help_selection(cls, lang, entries, module, activated):
        """Selection.definition reads help_selection translations as type
        'selection' while register_fields stores them as type 'help', so
        upstream never shows them translated: store them as 'selection'"""
        pool = Pool()
        for entry in entries:
            ttype, name, res_id = entry.msgctxt.split(':')
            target = res_id.split('.', 1)[0]
            if ttype != 'help' or target not in activated:
                continue
            model_name, field_name = name.split(',', 1)
            try:
                field = pool.get(model_name)._fields[field_name]
            except KeyError:
                continue
            help_selection = getattr(field, 'help_selection', None) or {}
            if entry.msgid not in {str(h) for h in help_selection.values()}:
                continue
            rows = cls.search([
                    ('lang', '=', lang),
                    ('type', '=', 'selection'),
                    ('name', '=', name),
                    ('res_id', '=', -1),
                    ('src', '=', entry.msgid),
                    ])
            if not rows:
                rows = [cls(lang=lang, type='selection', name=name,
                        res_id=-1, src=entry.msgid, module=target)]
            for row in rows:
                row.value = entry.msgstr
                row.fuzzy = False
                row.overriding_module = module
            cls.save(rows)

    @staticmethod
    def _override_key(module, ttype, name, res_id, src, src_plural):
        if ttype in SRC_TYPES:
            return (module, ttype, name, res_id, src, src_plural or None)
        return (module, ttype, name, res_id)
