"""The UI catalogs (web/i18n/zh.yaml, en.yaml) and the message catalog of stored records
(contract/data/messages_zh.yaml, messages_en.yaml, which the pages merge in): the same keys in
both languages, no key given twice in a file (YAML would keep the last silently, e.g. after a
merge), no key in both catalogs (one copy of each message), no empty text."""

from __future__ import annotations

import pytest
import yaml

from citycarbon.contract import records
from citycarbon.web import i18n

CATALOGS = [
    *(i18n._DIR / f"{lang}.yaml" for lang in i18n.LANGS),
    *(records._DATA / f"messages_{lang}.yaml" for lang in records.LANGS),
]


class _UniqueKeys(yaml.SafeLoader):
    """A loader that refuses a mapping with a repeated key."""


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise AssertionError(f"key {key!r} repeated (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_no_key_twice(path):
    yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_a_message_is_in_one_catalog_only(lang):
    page = records.flat_keys(yaml.safe_load((i18n._DIR / f"{lang}.yaml").read_text("utf-8")))
    assert sorted(set(page) & set(records.messages(lang))) == []


def test_both_languages_have_the_same_keys_and_no_empty_text():
    zh, en = i18n.strings("zh"), i18n.strings("en")
    assert sorted(set(zh) - set(en)) == [] and sorted(set(en) - set(zh)) == []
    assert [k for k, v in {**zh, **en}.items() if not v.strip()] == []


def test_every_ingest_kind_has_a_name_in_both_languages():
    from citycarbon.contract.inputs import SCHEMAS

    for lang in i18n.LANGS:
        names = i18n.strings(lang)
        assert [k for k in SCHEMAS if f"kinds.{k}" not in names] == [], lang
