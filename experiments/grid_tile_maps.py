"""Maps of the grid_tile source: what the gridded twin and the spatial perturbations look like.

Run: ``python experiments/grid_tile_maps.py [--output grid_tile_maps.png]`` (about 20 s).  It
builds the tile of ``experiments/grid_tile.yaml`` for a few weeks and draws, on the tile's
lat/lon grid (water cells blank): land cover, soil texture, true precipitation on one wet day,
the distinct Sentinel-1 acquisition calendars of May (the swath patches), and the
precipitation perturbation factor of two ensemble members on that day.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from s1da.components.perturbers.spatial import SpatialForcingPerturber  # noqa: E402
from s1da.components.sources.twin_grid import build_grid_network  # noqa: E402
from s1da.containers import schema  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="grid_tile_maps.png")
    args = parser.parse_args()
    resolved = schema.load(HERE / "grid_tile.yaml")
    options = resolved["source"]["parameters"]
    seed = resolved["experiment"]["seed"]
    network, grid = build_grid_network(options, "2018-05-01", "2018-06-01", seed)
    extent = (grid.lon[0] - 0.005, grid.lon[-1] + 0.005, grid.lat[0] - 0.005, grid.lat[-1] + 0.005)

    rain = network.true_forcing["precipitation"].values
    wet_day = int(np.argmax(rain.std(axis=1)))  # the day with the most spatial structure in the rain
    classes = sorted(set(network.sites["land_cover"].values.tolist()))
    textures = sorted(set(network.sites["texture"].values.tolist()))
    calendars, calendar_of_cell = np.unique(network.calendar["acquired"].values.T, axis=0, return_inverse=True)
    calendar_labels = [f"{int(row.sum())} passes, first May {int(np.argmax(row)) + 1}" for row in calendars]

    perturber = SpatialForcingPerturber(resolved["perturbation"]["parameters"], entropy=seed, positions=network.sites)
    state = perturber.initial_state(network.site_ids, 32, start_day=wet_day)
    day = {name: network.model_forcing[name].values[wet_day] for name in ("precipitation", "air_temperature", "net_radiation")}
    day["precipitation"] = np.ones(network.n_sites)  # the factor itself
    factor = perturber.perturb(day, wet_day, state)[0]["precipitation"]

    panels = [
        ("land cover", grid.to_map(np.array([classes.index(c) for c in network.sites["land_cover"].values])), "tab10", classes),
        ("soil texture", grid.to_map(np.array([textures.index(t) for t in network.sites["texture"].values])), "tab20", textures),
        (f"true precipitation {np.datetime_as_string(network.true_forcing['time'].values[wet_day], 'D')} (mm d$^{{-1}}$)", grid.to_map(rain[wet_day]), "Blues", None),
        ("Sentinel-1 acquisition calendars in May", grid.to_map(calendar_of_cell.ravel()), "Set2", calendar_labels),
        ("precipitation factor, member 0", grid.to_map(factor[0]), "RdBu", None),
        ("precipitation factor, member 1", grid.to_map(factor[1]), "RdBu", None),
    ]
    figure, axes = plt.subplots(2, 3, figsize=(12, 7.6), constrained_layout=True)
    for axis, (title, values, cmap, labels) in zip(axes.ravel(), panels):
        if labels is not None:
            colours = ListedColormap(plt.get_cmap(cmap).colors[: len(labels)])
            image = axis.imshow(values, origin="lower", extent=extent, cmap=colours, vmin=-0.5, vmax=len(labels) - 0.5, interpolation="nearest")
            bar = figure.colorbar(image, ax=axis, ticks=range(len(labels)), shrink=0.85)
            bar.ax.set_yticklabels(labels, fontsize=7)
        else:
            limits = {"vmin": 0.4, "vmax": 1.6} if cmap == "RdBu" else {}
            image = axis.imshow(values, origin="lower", extent=extent, cmap=cmap, interpolation="nearest", **limits)
            figure.colorbar(image, ax=axis, shrink=0.85)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("longitude (deg E)", fontsize=8)
        axis.set_ylabel("latitude (deg N)", fontsize=8)
        axis.tick_params(labelsize=7)
    figure.suptitle(f"grid_tile: {grid.ny} x {grid.nx} cells of {options.resolution} deg, {network.n_sites} land cells (white: water)", fontsize=10)
    figure.savefig(args.output, dpi=150)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
