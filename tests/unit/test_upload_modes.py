from modelcommons.hub.upload_modes import (
    DEFAULT_GITATTRIBUTES,
    LFS_THRESHOLD,
    lfs_patterns,
    upload_mode,
)

PATTERNS = lfs_patterns(DEFAULT_GITATTRIBUTES)


def test_rules():
    assert upload_mode("config.json", size=10, sample=b"{}", patterns=PATTERNS) == "regular"
    assert upload_mode("model.safetensors", size=10, sample=b"x", patterns=PATTERNS) == "lfs"
    assert upload_mode("deep/dir/w.bin", size=10, sample=b"x", patterns=PATTERNS) == "lfs"
    assert upload_mode("big.txt", size=LFS_THRESHOLD, sample=b"x", patterns=PATTERNS) == "lfs"
    assert upload_mode("data.txt", size=5, sample=b"a\0b", patterns=PATTERNS) == "lfs"
    assert upload_mode("saved_model/a/b.txt", size=5, sample=b"x", patterns=PATTERNS) == "lfs"


def test_custom_gitattributes():
    patterns = lfs_patterns("# comment\n*.csv filter=lfs diff=lfs\ndocs/*.md -text\n")
    assert patterns == ["*.csv"]
    assert upload_mode("a/b.csv", size=1, sample=b"x", patterns=patterns) == "lfs"
    assert upload_mode("docs/a.md", size=1, sample=b"x", patterns=patterns) == "regular"
