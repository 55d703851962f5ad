"""A router as one zip: the same decisions after the round trip, and hostile zips refused before anything is written."""
import io
import zipfile

import pytest

from router_core import Router
from router_core.errors import RouterInputError
from router_core.router_zip import router_from_zip, router_zip

QUERIES = ["write a python function that sorts list", "hello how are you", "prove theorem step by step"]


@pytest.fixture(scope="module")
def router(tiny_router_folder):
    return Router.load(tiny_router_folder)


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_zipped_router_decides_as_the_router_did(router):
    again = router_from_zip(router_zip(router), backend="torch")
    assert again.id == router.id
    for lam in (0.0, 0.5, 1.0):
        assert [d.candidate for d in again.route(QUERIES, lam)] == [d.candidate for d in router.route(QUERIES, lam)]


@pytest.mark.parametrize("entries, expected", [
    ({"../router.json": b"{}"}, "entry '../router.json' is not a router artifact file"),
    ({"router/router.json": b"{}"}, "is not a router artifact file"),
    ({"notes.txt": b"hi"}, "entry 'notes.txt' is not a router artifact file"),
    ({"router.safetensors": b"x"}, "has no router.json"),
    ({"router.json": b"{not json"}, "router.json"),
])
def test_a_zip_that_is_not_an_artifact_is_refused_naming_what_is_wrong(entries, expected):
    with pytest.raises(RouterInputError, match=expected):
        router_from_zip(zipped(entries), "mine.zip")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch):
    monkeypatch.setattr("router_core.router_zip.MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(RouterInputError, match="mine.zip: unpacks to over"):
        router_from_zip(zipped({"router.json": b"0" * 5000}), "mine.zip")  # compresses to a few bytes


def test_a_file_that_is_not_a_zip_is_one_clear_error():
    with pytest.raises(RouterInputError, match="mine.zip: not a readable zip file"):
        router_from_zip(b"PK\x03\x04 but not really", "mine.zip")
