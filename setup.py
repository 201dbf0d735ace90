"""Map the root folders onto the single import name ``s1da``.

``framework/``, ``components/`` and ``containers/`` live at the repository root but install as
``s1da.framework``, ``s1da.components`` and ``s1da.containers`` (``s1da`` itself is a namespace
package), so nothing generic such as a top-level ``framework`` lands in site-packages.  The
sub-packages are discovered here so that adding one needs no edit of a package list.
"""

from setuptools import find_packages, setup

ROOTS = ("framework", "components", "containers")

packages = []
package_dir = {}
for root in ROOTS:
    packages.append(f"s1da.{root}")
    package_dir[f"s1da.{root}"] = root
    for sub in find_packages(where=root):
        packages.append(f"s1da.{root}.{sub}")
        package_dir[f"s1da.{root}.{sub}"] = f"{root}/" + sub.replace(".", "/")

setup(packages=packages, package_dir=package_dir, package_data={"s1da.containers": ["*.yaml"]})
