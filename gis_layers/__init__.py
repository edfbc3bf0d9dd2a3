"""GIS layers: importing vector files into the catalogue and reading them back."""
