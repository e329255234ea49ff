"""How landscape.jpg was made (run once; the JPEG is committed): a valley in evening light, drawn from the
public-domain USGS elevation model of the Jacksboro fault that ships in matplotlib's sample data."""
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import LightSource
from PIL import Image, ImageFilter


def landscape(width: int = 512, height: int = 384, seed: int = 3) -> Image.Image:
    """Sky with soft clouds over shaded terrain whose far rows are squeezed as if seen at a low angle."""
    rng = np.random.default_rng(seed)
    dem = np.load(Path(matplotlib.get_data_path()) / "sample_data" / "jacksboro_fault_dem.npz")["elevation"]
    dem = dem.astype(np.float64)
    shaded = LightSource(azdeg=300, altdeg=25).shade(dem, cmap=matplotlib.colormaps["gist_earth"],
                                                     vert_exag=0.08, blend_mode="soft")[..., :3]
    land_h = int(height * 0.62)
    rows = (np.linspace(0, 1, land_h) ** 1.8 * (dem.shape[0] - 1)).astype(int)  # perspective: far rows thin
    land = Image.fromarray((shaded[rows] * 255).astype(np.uint8)).resize((width, land_h), Image.BICUBIC)
    y = np.linspace(0, 1, height - land_h)[:, None, None]
    sky = (1 - y) * np.array([70, 110, 190]) + y * np.array([235, 190, 150])
    sky = np.repeat(sky, width, axis=1)
    clouds = rng.uniform(0, 1, (12, 24))
    clouds = np.asarray(Image.fromarray((clouds * 255).astype(np.uint8)).resize((width, height - land_h),
                                                                               Image.BICUBIC)) / 255.0
    sky = sky + np.clip(clouds - 0.55, 0, 1)[..., None] * 260
    img = np.concatenate([np.clip(sky, 0, 255).astype(np.uint8), np.asarray(land)], axis=0)
    return Image.fromarray(img).filter(ImageFilter.SMOOTH)


if __name__ == "__main__":
    landscape().save(Path(__file__).with_name("landscape.jpg"), quality=90)
