"""The case builders of specs/generate_vectors.py, one module per area of the vectors.

`common` holds the case file, the fixed keys and identities and the writing of files;
the other modules each yield the cases of their suites. The file format and the fields of
every suite are documented in specs/generate_vectors.py.
"""
