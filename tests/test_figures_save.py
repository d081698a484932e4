"""Tests for unitclust.figures.save_figure: atomic through unitclust.io.atomic_path, no temporary
file left behind on failure, byte-stable reruns, figure closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

import unitclust.figures.save as save_module
from unitclust import figures, io

DPI = 30


def test_save_figure_writes_through_atomic_path(tmp_path, monkeypatch):
    """PNG first, then PDF, each via unitclust.io.atomic_path (the project's atomic writer)."""
    seen = []

    def recording(path):
        seen.append(Path(path).name)
        return io.atomic_path(path)

    monkeypatch.setattr(save_module, "atomic_path", recording)
    fig = Figure(figsize=(1, 1))
    figures.save_figure(fig, tmp_path / "z.pdf", tmp_path / "z.png", dpi=DPI)
    assert seen == ["z.png", "z.pdf"]
    assert (tmp_path / "z.pdf").read_bytes()[:5] == b"%PDF-"


def test_save_figure_overwrites_atomically_and_closes(tmp_path):
    pdf, png = tmp_path / "sub" / "x.pdf", tmp_path / "sub" / "x.png"
    for i in range(2):
        fig = Figure(figsize=(2, 1))
        fig.add_subplot().plot([0, 1], [i, 1 - i])
        figures.save_figure(fig, pdf, png, dpi=DPI)
        assert not fig.get_axes()  # closed / cleared
        assert imread(png).shape[:2] == (DPI, 2 * DPI)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["x.pdf", "x.png"]


def test_save_figure_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    fig = Figure(figsize=(1, 1))

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        figures.save_figure(fig, tmp_path / "y.pdf", tmp_path / "y.png")
    assert list(tmp_path.iterdir()) == []


def test_save_figure_partial_write_then_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    """savefig writes half a PDF to the temporary file, then raises: the temporary file is
    removed, the PNG written before stays complete, no PDF appears, and the figure is closed."""
    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    real = fig.savefig
    temps = []

    def half_pdf(fname, *a, **k):
        if k.get("format") != "pdf":
            return real(fname, *a, **k)
        temps.append(Path(fname))
        Path(fname).write_bytes(b"%PDF-1.4 trunc")
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", half_pdf)
    with pytest.raises(OSError):
        figures.save_figure(fig, tmp_path / "y.pdf", tmp_path / "y.png", dpi=DPI)
    assert temps and temps[0].parent == tmp_path and temps[0].name.endswith(".part")
    assert [p.name for p in tmp_path.iterdir()] == ["y.png"]
    assert imread(tmp_path / "y.png").shape[:2] == (DPI, DPI)
    assert not fig.get_axes()


def test_save_figure_is_byte_stable(tmp_path):
    """No creation date in the PDF, no Software entry in the PNG: reruns give the same bytes."""
    out = []
    for i in range(2):
        fig = Figure(figsize=(2, 1))
        fig.add_subplot().plot([0, 1], [0, 1])
        pdf, png = tmp_path / f"{i}.pdf", tmp_path / f"{i}.png"
        figures.save_figure(fig, pdf, png, dpi=DPI)
        out.append((pdf.read_bytes(), png.read_bytes()))
    assert out[0] == out[1]
    assert b"CreationDate" not in out[0][0] and b"Software" not in out[0][1]
