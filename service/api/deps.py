"""The Annotated dependencies routes take: the settings, and the image type a client accepts.

Tested by api_tests/test_plots.py and api_tests/test_graph_picture.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from service.api.media import accepting
from service.render.spec import PNG, SVG
from service.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]
PngUnlessSvg = Annotated[str, Depends(accepting(PNG))]
SvgUnlessPng = Annotated[str, Depends(accepting(SVG))]
