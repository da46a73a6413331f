# Huiyuan retail_i18n: zh_CN translations of the upstream Tryton modules the
# suite activates, shipped as overrides (see i18n/README.md).
