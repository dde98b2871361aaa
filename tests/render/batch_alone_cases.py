"""Data for ``test_batch_alone``: items that try to change what a later item of the same TeX run
looks like, or whose own outcome could depend on the batch (issue 11). Each hostile item is placed
before ``INNOCENTS`` in one batch and every item's outcome is compared with the item rendered alone.

``(latex, type)`` pairs; the names say which class of the issue each one stands for.
"""

from __future__ import annotations

INNOCENTS: list[tuple[str, str]] = [
    (r"\frac{a}{b}+\sum_{i=1}^n x_i^2", "display"),
    (r"\begin{equation} E = mc^2 \end{equation}", "raw"),  # must show (1)
    (r"\begin{align} a &= b \label{eq:a} \\ c &= d \end{align}", "raw"),  # (1) and (2)
    (r"\newcounter{foo}\setcounter{foo}{3}\thefoo\ $\alpha$ x", "raw"),
    (r"\begin{tabular}{cc} a & b \\ c & d \end{tabular} \footnote{n}", "raw"),
    (r"x^2 + \mathbf{y}", "inline"),
]

HOSTILE: dict[str, tuple[str, str]] = {
    # Counters
    "setcounter": (r"\setcounter{equation}{41}\begin{equation}x\end{equation}", "raw"),
    "equation": (r"\begin{equation}x\end{equation}", "raw"),
    "align": (r"\begin{align} x \\ y \end{align}", "raw"),
    "gather": (r"\begin{gather} x \\ y \end{gather}", "raw"),
    "multline": (r"\begin{multline} x \\ y \end{multline}", "raw"),
    "eqnarray": (r"\begin{eqnarray} x &=& y \end{eqnarray}", "raw"),
    "subequations": (r"\begin{subequations}\begin{align} x \\ y \end{align}\end{subequations}", "raw"),
    "footnote": (r"a\footnote{b}\footnote{c}", "raw"),
    "caption": (r"\begin{table}\caption{c}\end{table}", "raw"),
    "section": (r"\section{S} x", "raw"),
    "appendix": (r"\appendix\section{A} x", "raw"),
    "numberwithin": (r"\numberwithin{equation}{section}\begin{equation}x\end{equation}", "raw"),
    "pagenumbering": (r"\pagenumbering{roman}\stepcounter{page} x", "raw"),
    # LaTeX commands that define globally
    "newcounter": (r"\newcounter{foo}\setcounter{foo}{9}\thefoo", "raw"),
    "newtheorem": (r"\newtheorem{thm}{Theorem}\begin{thm}x\end{thm}", "raw"),
    "newlength": (r"\newlength{\mylen}\setlength{\mylen}{1cm}\rule{\mylen}{1pt}", "raw"),
    "newsavebox": (r"\newsavebox{\mybox}\sbox{\mybox}{x}\usebox{\mybox}", "raw"),
    "label_star": (r"\begin{align*} a \label{eq:a} \end{align*}", "raw"),
    "maketitle": (r"\title{T}\author{A}\date{D}\maketitle", "raw"),
    "twocolumn": (r"\twocolumn x", "raw"),
    # Global assignments, with or without \global
    "gdef": (r"\gdef\alpha{Z}\alpha", "display"),
    "xdef": (r"\xdef\frac#1#2{#1}\frac{a}{b}", "display"),
    "global_let": (r"\global\let\sum\prod\sum", "display"),
    "globaldefs": (r"\globaldefs=1 \def\mathbf{Q} x", "display"),
    "global_catcode": ("\\global\\catcode`\\y=13 x", "display"),
    "everymath": (r"\global\everymath{\scriptstyle} x", "raw"),
    "everydisplay": (r"\global\everydisplay{\scriptstyle} x", "raw"),
    "everyhbox": (r"\global\everyhbox{X} x", "raw"),
    "mathcode": ("\\global\\mathcode`\\x=\"0141 x", "display"),
    "fontdimen": (r"\fontdimen6\textfont2=100pt x", "display"),
    "hyphenchar": (r"\hyphenchar\font=`\- x", "raw"),
    "skewchar": (r"\skewchar\textfont1=0 x", "display"),
    "hyphenation": (r"\hyphenation{ma-the-ma-tics} x", "raw"),
    "aftergroup": (r"\aftergroup\aftergroup\aftergroup\gdef\aftergroup\aftergroup\aftergroup\alpha"
                   r"\aftergroup\aftergroup\aftergroup Z x", "raw"),
    "special_color": (r"\special{color push rgb 1 0 0} x", "raw"),
    "font_flood": ("".join(rf"\font\f{c}=cmr10 at {k + 5}pt" for k, c in enumerate("abcdefghij")) + "x", "raw"),
    "count1": (r"\count1=5 \global\count0=7 x", "raw"),
    "extra_page": (r"\shipout\hbox{x} y", "raw"),
    # Files
    "openout_next": (r"\immediate\openout5=i2.tex \immediate\write5{hacked}\immediate\closeout5 x", "raw"),
    "openout_deferred": (r"\openout5=i3 \write5{\relax} x", "raw"),
    "input_neighbour": (r"\input{i2.tex} x", "raw"),
    "input_main": (r"\input{main.tex} x", "raw"),
    # Forged markers
    "forged_start": (r"\typeout{[ARP S6.0.m.15:preview]} x", "display"),
    "forged_end_hides_error": (r"\typeout{[ARQ S6.0.m.15:preview]} \undefined x", "display"),
    "forged_dim": (r"\immediate\write-1{ARDIM 1 1 1 1} x", "display"),
    # An item's own end state
    "unclosed_itemize": (r"\begin{itemize}\item x", "raw"),
    "unclosed_center": (r"\begin{center} x", "raw"),
    "unclosed_group": (r"\begingroup x", "raw"),
    "unclosed_brace": (r"{x", "raw"),
    "extra_fi": (r"x\fi", "raw"),
    "interaction": (r"\errorstopmode x", "raw"),
    # Errors must quote the item
    "frac": (r"\frac{a}{b", "display"),
    "superscript": (r"x^", "display"),
    "left": (r"\left( x", "display"),
    "tabular": (r"\begin{tabular}{cc} a & b", "raw"),
    # Floats and long tables
    "table": (r"\begin{table}[h]\centering\begin{tabular}{cc}a&b\end{tabular}\caption{t}\end{table}", "raw"),
    "figure": (r"\begin{figure}x\caption{f}\end{figure}", "raw"),
    "longtable": (r"\begin{longtable}{cc} a & b \\ c & d \end{longtable}", "raw"),
    # Date and time are fixed
    "date": (r"\the\year/\the\month/\the\day\ \the\time\ \today", "raw"),
}
