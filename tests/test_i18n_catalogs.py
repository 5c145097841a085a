"""The UI catalogs (web/i18n/zh.yaml, en.yaml): the same keys in both languages, no key given
twice in a file (YAML would keep the last silently, e.g. after a merge), no empty text."""

from __future__ import annotations

import pytest
import yaml

from citycarbon.web import i18n


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


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_key_twice(lang):
    path = i18n._DIR / f"{lang}.yaml"
    yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)


def test_both_languages_have_the_same_keys_and_no_empty_text():
    zh, en = i18n.strings("zh"), i18n.strings("en")
    assert sorted(set(zh) - set(en)) == [] and sorted(set(en) - set(zh)) == []
    assert [k for k, v in {**zh, **en}.items() if not v.strip()] == []


def test_every_ingest_kind_has_a_name_in_both_languages():
    from citycarbon.contract.inputs import SCHEMAS

    for lang in i18n.LANGS:
        names = i18n.strings(lang)
        assert [k for k in SCHEMAS if f"kinds.{k}" not in names] == [], lang
