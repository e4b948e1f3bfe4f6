"""Tasks: the catalogue (data, in ``catalogue/*.yaml``) and the formats (code, in ``formats/``)."""
