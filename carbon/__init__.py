"""The town's carbon footprint: emission factors as versioned data (``factors``), activity
data from energy meters and imported files (``meters``, ``activity``, ``importer``), and
the inventory by asset, sector, scope and month (``inventory``, ``report``, ``layer``);
``docs/carbon.md``."""
