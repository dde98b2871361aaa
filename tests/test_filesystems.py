"""Which file system a folder is on: the mount table read as the kernel writes it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from asyncrender.filesystems import file_system_type, in_memory

# id parent major:minor root mount-point options [optional fields] - type source super-options
TABLE = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /dev/shm rw,nosuid,nodev shared:2 - tmpfs tmpfs rw
31 22 0:27 / /mnt/my\\040disk rw - tmpfs tmpfs rw
32 22 8:2 / /data rw,relatime - xfs /dev/sdb1 rw
33 32 0:28 / /data rw master:3 shared:4 - nfs4 server:/export rw
34 22 0:29 / /data2 rw - tmpfs tmpfs rw
"""


@pytest.fixture()
def table(tmp_path: Path) -> str:
    path = tmp_path / "mountinfo"
    path.write_text(TABLE)
    return str(path)


@pytest.mark.parametrize(("folder", "expected"), [
    ("/", "ext4"),
    ("/home/user/cache", "ext4"),
    ("/dev/shm/run/cache", "tmpfs"),
    ("/dev/shmx", "ext4"),  # a prefix of the name is not the folder
    ("/mnt/my disk/cache", "tmpfs"),  # \040 in the table is a space
    ("/data/x", "nfs4"),  # a mount over another hides it: the last of equals
    ("/data2/x", "tmpfs"),
])
def test_the_longest_mount_point_that_holds_the_folder_names_its_type(table: str, folder: str, expected: str) -> None:
    assert file_system_type(folder, table) == expected


def test_an_unreadable_table_says_nothing(tmp_path: Path) -> None:
    assert file_system_type("/", str(tmp_path / "absent")) is None


@pytest.mark.skipif(not shutil.which("stat") or not os.path.exists("/proc/self/mountinfo"), reason="needs Linux")
@pytest.mark.parametrize("folder", ["/", "/dev/shm", "/tmp", "/proc"])
def test_the_real_table_agrees_with_stat(folder: str) -> None:
    if not os.path.isdir(folder):
        pytest.skip(f"no {folder} here")
    said = subprocess.run(["stat", "-f", "-c", "%T", folder], capture_output=True, text=True, check=True).stdout
    kind = file_system_type(folder)
    assert kind is not None
    # stat names some types its own way (ext2/ext3 for ext4): compare the in-memory ones exactly
    assert (said.strip() == "tmpfs") == (kind == "tmpfs")
    assert in_memory(folder) == (kind in ("tmpfs", "ramfs"))
