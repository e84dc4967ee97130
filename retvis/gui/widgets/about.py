"""The About box: version, credits and licences."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from ... import __version__

ABOUT_HTML = f"""
<h3>RetVis {__version__}</h3>
<p>Screen porous materials for gas adsorption from Lennard-Jones energy grids with a
3D convolutional network (RetNet), and look inside the model.</p>
<p><b>Method:</b> A. P. Sarikas, <i>From Potential Energy Surface to Gas Adsorption via
Deep Learning</i>, master thesis, University of Crete, 2024.</p>
<p><b>Structures:</b> CoRE MOF 2019 database (Chung et al., J. Chem. Eng. Data 2019),
licensed CC-BY 4.0.</p>
<p><b>Adsorption labels:</b> RASPA3 (Monte Carlo simulation, MIT licence).<br>
<b>Pore geometry:</b> Zeo++ (Willems, Rycroft, Haranczyk et al.).</p>
<p><b>Built with</b> PySide6 (Qt), PyVista/VTK, PyTorch, NumPy, numba, gemmi, pymatgen,
scikit-learn.</p>
<p>Shortcuts: Ctrl+O open · Ctrl+E export · Ctrl+F search · Ctrl+C copy rows ·
Esc cancel · Ctrl+R compute again · Ctrl+T train · Ctrl+G simulate uptake ·
F3 3D viewer · Ctrl+, settings · Ctrl+Q quit · F1 this box.</p>
"""


def show_about(parent) -> None:
    """Show the About box (modal)."""
    QMessageBox.about(parent, "About RetVis", ABOUT_HTML)
