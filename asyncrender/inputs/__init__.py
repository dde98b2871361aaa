"""Input: the file list (streamed in chunks) and the extracted JSON files it names."""

from asyncrender.inputs.extracted import Paper, PaperItem, parse_extracted, read_extracted
from asyncrender.inputs.filelist import count_listed, listed_file, read_file_list
from asyncrender.model import InputError

__all__ = ["InputError", "Paper", "PaperItem", "count_listed", "listed_file", "parse_extracted",
           "read_extracted", "read_file_list"]
