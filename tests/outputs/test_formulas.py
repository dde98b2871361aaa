"""outputs.formulas: the normalisation that makes two formulas one, the hash, the compact set."""

from __future__ import annotations

import random

import pytest

from asyncrender.outputs.formulas import HashSet64, formula_hash, normalise_latex


@pytest.mark.parametrize(("a", "b"), [
    ("a + b", "a+b"),
    ("\\alpha  x", "\\alpha x"),
    ("\\alpha + x", "\\alpha+x"),
    ("\\frac{a}{b}\n", "  \\frac {a} {b}"),
    ("x % a comment\n  + y", "x+y"),
    ("\\alpha \\beta", "\\alpha\\beta"),
])
def test_math_that_differs_only_as_tex_ignores_is_one_formula(a: str, b: str) -> None:
    assert normalise_latex(a, math=True) == normalise_latex(b, math=True)
    assert formula_hash(a, "display") == formula_hash(b, "display")


@pytest.mark.parametrize(("a", "b"), [
    ("\\alpha x", "\\alphax"),      # the space ends the control word
    ("x^2", "x^{2}"),               # alike on paper, but telling needs TeX
    ("\\verb|a  b|", "\\verb|a b|"),  # verbatim is kept as is
    ("a\\ b", "ab"),              # a control space is a space
    ("50\\%", "50"),                # an escaped % is no comment
])
def test_what_tex_sees_differently_stays_apart(a: str, b: str) -> None:
    assert normalise_latex(a, math=True) != normalise_latex(b, math=True)


def test_text_mode_keeps_one_space_and_paragraphs_and_the_type_counts() -> None:
    assert normalise_latex("a  b\n c", math=False) == "a b c"
    assert normalise_latex("a b", math=False) != normalise_latex("ab", math=False)
    assert normalise_latex("a\n\n  b", math=False) == "a\\par b"
    assert formula_hash("x", "display") != formula_hash("x", "inline")
    assert len(formula_hash("x", "raw")) == 16 and int(formula_hash("x", "raw"), 16) >= 0


def test_hash_set_agrees_with_a_python_set_through_growth() -> None:
    rng = random.Random(7)
    values = [rng.getrandbits(64) | 1 for _ in range(20_000)]
    values += values[:5000]  # repeats
    compact, reference = HashSet64(), set()
    for v in values:
        assert compact.add(v) == (v not in reference)
        reference.add(v)
    assert len(compact) == len(reference) == 20_000
