"""podium: a DVC pipeline from competition data to scored submissions."""
