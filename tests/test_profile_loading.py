"""Profiles are data: a bad file fails at load naming the file, the key and what is wrong;
a profile whose required fields stop matching gives a degraded, unversioned parse."""

from __future__ import annotations

from pathlib import Path

import pytest

import parsers
from parsers.profiles import ProfileError, load_profile, load_profiles

FIXTURE = Path(__file__).parent / "fixtures" / "sample" / "liver-reference.html"
GOOD = """
[site]
hosts = ["health.example.org"]
required = ["title", "body"]
[fields.title]
select = "h1.headline"
[body]
select = "div.story p"
"""


def write(tmp_path, text, name="site.toml"):
    f = tmp_path / name
    f.write_text(text)
    return f


@pytest.mark.parametrize(
    "text,key,what",
    [
        (GOOD.replace('select = "h1.headline"', 'select = "h1[[["'), "fields.title.select", "invalid selector"),
        (GOOD.replace("[body]", "colour = 'red'\n[body]"), "fields.title.colour", "unknown key"),
        (GOOD.replace('hosts = ["health.example.org"]', 'hosts = "x"\nsignature_min = "two"'), "site.signature_min", "must be an integer"),
        (GOOD.replace('required = ["title", "body"]', 'required = ["title", "bodyy"]'), "site.required", "'bodyy' is not one of"),
        (GOOD + '\n[[ads]]\nselect = "div.ad"\nkind = "banner"\n', "ads[0].kind", "'banner' is not one of"),
        (GOOD + '\n[comments]\nitem = "li"\nauthor = "b"\n', "comments.text", "is required"),
        (GOOD.replace('select = "div.story p"', 'select = "//div[@"'), "body.select", "invalid selector"),
        (GOOD.replace("[fields.title]", "[fields.tittle]"), "fields.tittle", "unknown key"),
        (GOOD + "\n[comments]\nitem = 'li'\nauthor = 'b'\ntext = 'p'\nreply_pattern = '(('\n", "comments.reply_pattern", "invalid regular expression"),
    ],
)
def test_bad_profiles_name_file_key_and_problem(tmp_path, text, key, what):
    f = write(tmp_path, text)
    with pytest.raises(ProfileError) as e:
        load_profile(f)
    msg = str(e.value)
    assert str(f) in msg and key in msg and what in msg


def test_user_profiles_extend_the_bundled_ones(tmp_path):
    write(tmp_path, GOOD, "healthsite.toml")
    profiles = load_profiles(extra_dirs=[tmp_path])
    assert {"wisegeek", "healthsite"} <= set(profiles)
    assert profiles["healthsite"].hosts == ["health.example.org"]
    with pytest.raises(ProfileError, match="does not exist"):
        load_profiles(extra_dirs=[tmp_path / "missing"])


def test_a_profile_that_stops_matching_gives_a_degraded_parse(tmp_path):
    broken = (Path(parsers.__file__).parent.parent / "config" / "sites" / "wisegeek.toml").read_text()
    broken = broken.replace('select = "div.suggestEdit > p', 'select = "div.articleText > p')
    profile = load_profile(write(tmp_path, broken, "wisegeek.toml"))
    page = parsers.parse(FIXTURE.read_bytes(), "http://www.wisegeek.com/x.htm", profile=profile)
    assert page.degraded and page.profile == "generic" and page.profile_hash == profile.hash
    assert "required field(s) body found nothing" in page.warnings[0]
    assert page.body.paragraphs  # never a silent empty body: generic extraction filled in
