"""download sources: url (against a server on 127.0.0.1), archives, local folders, kaggle credentials."""

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from podium.data.download import DownloadError, extract_archive, fetch_url, install_tree, kaggle_download
from podium.data.layout import LayoutError


def _layout_zip(root_name: str = "comp") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in [
            "audio/train/clips/a.wav",
            "audio/train/labels.csv",
            "audio/test/clips/b.wav",
            "audio/sample_submission.csv",
        ]:
            zf.writestr(f"{root_name}/{name}", b"x" * 1000)
    return buf.getvalue()


class _Server:
    """Serves `payload` at /data.zip; the first `drop_after` responses stop after that many bytes."""

    def __init__(self, payload: bytes, drop_first: int = 0, drop_after: int = 0):
        self.payload, self.drops, self.drop_after, self.ranges = payload, drop_first, drop_after, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                start = 0
                if rng := self.headers.get("Range"):
                    start = int(rng.split("=")[1].split("-")[0])
                server.ranges.append(start)
                body = server.payload[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drops > 0:
                    server.drops -= 1
                    self.wfile.write(body[: server.drop_after])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # connection dropped mid-transfer
                    return
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/data.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def serve():
    servers = []

    def start(payload, **kw):
        servers.append(_Server(payload, **kw))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_fetch_url_checks_sha256_and_installs(serve, tmp_path):
    payload = _layout_zip()
    server = serve(payload)
    dest = fetch_url(server.url, tmp_path / "cache/data.zip", hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == payload
    out = tmp_path / "raw"
    out.mkdir()
    assert install_tree(dest, out, ("audio",)) == ["audio"]
    assert (out / "audio/train/labels.csv").exists()


def test_wrong_checksum_deletes_the_download(serve, tmp_path):
    server = serve(_layout_zip())
    with pytest.raises(DownloadError, match="does not match download.sha256"):
        fetch_url(server.url, tmp_path / "data.zip", "0" * 64)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a .part is left to be trusted later


def test_dropped_connection_resumes_from_where_it_stopped(serve, tmp_path):
    payload = _layout_zip()
    server = serve(payload, drop_first=2, drop_after=300)
    dest = fetch_url(server.url, tmp_path / "data.zip", hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == payload
    assert server.ranges == [0, 300, 600]  # each retry asked only for the missing bytes


def test_gives_up_keeping_the_partial_file_for_next_time(serve, tmp_path):
    payload = _layout_zip()
    server = serve(payload, drop_first=10, drop_after=100)
    with pytest.raises(DownloadError, match="next run resumes it"):
        fetch_url(server.url, tmp_path / "data.zip", hashlib.sha256(payload).hexdigest(), retries=2)
    assert not (tmp_path / "data.zip").exists()
    assert (tmp_path / "data.zip.part").stat().st_size == 200


def test_missing_checksum_is_refused_before_downloading(tmp_path):
    with pytest.raises(DownloadError, match="64-hex-digit sha256"):
        fetch_url("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", "")


def test_corrupt_archives_name_the_file(tmp_path):
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(_layout_zip()[:-200])
    with pytest.raises(DownloadError, match="cut.zip"):
        extract_archive(truncated, tmp_path / "x")
    flipped = bytearray(_layout_zip())
    flipped[60] ^= 0xFF  # inside the first member's data: CRC mismatch
    (tmp_path / "crc.zip").write_bytes(bytes(flipped))
    with pytest.raises(DownloadError, match="crc.zip"):
        extract_archive(tmp_path / "crc.zip", tmp_path / "y")
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive at all")
    with pytest.raises(DownloadError, match="not a zip or tar"):
        extract_archive(tmp_path / "junk.tar.gz", tmp_path / "z")


def test_archive_members_cannot_escape(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "evil.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(DownloadError):
        extract_archive(tmp_path / "evil.tar.gz", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def _canonical(root, tasks):
    for task in tasks:
        for folder in {"detection": ["train/images", "test/images"], "audio": ["train/clips", "test/clips"]}[task]:
            (root / task / folder).mkdir(parents=True)
        files = {"detection": ["train/annotations.json", "sample_submission.csv"],
                 "audio": ["train/labels.csv", "sample_submission.csv"]}  # fmt: skip
        for name in files[task]:
            (root / task / name).write_text("x")


def test_only_the_competitions_tasks_are_installed_and_a_missing_one_is_named(tmp_path):
    _canonical(tmp_path / "src", ["detection", "audio"])
    out = tmp_path / "out"
    out.mkdir()
    assert install_tree(tmp_path / "src", out, ("detection",)) == ["detection"]
    assert (out / "detection").is_dir() and not (out / "audio").exists()
    _canonical(tmp_path / "only_audio", ["audio"])
    with pytest.raises(LayoutError, match=r"no detection/ data, but params competition.tasks has \['detection'\]"):
        install_tree(tmp_path / "only_audio", tmp_path / "out2", ("detection", "audio"))


def test_local_folder_in_wrong_layout_names_what_is_missing(tmp_path):
    (tmp_path / "src/detection/train/images").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(LayoutError, match=r"missing \['train/annotations.json', 'test/images'"):
        install_tree(tmp_path / "src", out)


def test_kaggle_without_credentials_says_where_to_put_them(tmp_path):
    with pytest.raises(DownloadError, match=r"kaggle.json"):
        kaggle_download("some-competition", tmp_path, environ={}, home=Path(tmp_path))


def test_a_truncated_zip_is_called_truncated(tmp_path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(_layout_zip()[:300])  # the central directory, at the end, is gone
    with pytest.raises(DownloadError, match=r"cut.zip: truncated or corrupt zip"):
        extract_archive(cut, tmp_path / "x")


def _tar(tmp_path, name, member, link=None):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo(member)
        if link:
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
        else:
            info.size = 1
            tf.addfile(info, io.BytesIO(b"x"))
    (tmp_path / name).write_bytes(buf.getvalue())
    return tmp_path / name


@pytest.mark.parametrize(
    "member, link, message",
    [
        ("/etc/evil.txt", None, r"member '/etc/evil.txt' would be written outside"),
        ("comp/../../evil.txt", None, r"member 'comp/../../evil.txt' would be written outside"),
        ("comp/link", "/etc/passwd", r"member 'comp/link' is unsafe"),
    ],
)
def test_unsafe_tar_members_are_named_as_unsafe_not_corrupt(tmp_path, member, link, message):
    archive = _tar(tmp_path, "evil.tar.gz", member, link)
    with pytest.raises(DownloadError, match=message) as error:
        extract_archive(archive, tmp_path / "out")
    assert "corrupt" not in str(error.value) and not (tmp_path / "evil.txt").exists()


def test_an_archive_in_the_wrong_layout_names_the_archive(tmp_path):
    archive = _tar(tmp_path, "flat.tar.gz", "comp/readme.txt")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(LayoutError, match=r"flat.tar.gz: .*the archive"):
        install_tree(archive, out)


def test_the_kaggle_cli_beside_the_interpreter_is_found_without_path(tmp_path, monkeypatch):
    import sys

    bindir = tmp_path / "venv/bin"
    bindir.mkdir(parents=True)
    fake = bindir / "kaggle"
    fake.write_text(f'#!/bin/sh\necho "$@" > {bindir / "args"}\n: > "$6/comp.zip"\n')  # shell builtins only
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bindir / "python"))
    monkeypatch.setenv("PATH", "/nonexistent")
    got = kaggle_download(
        "some-comp", tmp_path / "dl", environ={"KAGGLE_USERNAME": "u", "KAGGLE_KEY": "k"}, home=tmp_path
    )
    assert got == tmp_path / "dl/comp.zip"
    assert (bindir / "args").read_text().split()[:4] == ["competitions", "download", "-c", "some-comp"]
