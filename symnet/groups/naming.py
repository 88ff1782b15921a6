"""How groups are named: the registry of :meth:`Named.by_name` and the charge labels.

Private mixin of :class:`~symnet.groups.Group` (use the methods through any
group class). A group class joins the registry with ``class
Translation(VectorGroup, by_name="translation")`` and a ``from_config``
classmethod; the checker resolves ``"translation"`` or ``"rotation_z"``
through it, and reports label each generator's charge with the group's
:attr:`charge_symbol`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from symnet.groups.generator import Generator

__all__ = ["Named"]

#: name -> group class, in registration (import) order.
_REGISTRY: dict[str, type] = {}


class Named:
    """Mixin: names, the by-name factory and the charge labels of a group.

    Attributes
    ----------
    charge_symbol : str or None
        Symbol of the Noether charges of the generators (``"P"`` for
        translations, ``"L"`` rotations, ``"E"`` time shifts, ``"K"`` boosts);
        None labels a charge by its generator's name, ``J[name]``.
    """

    name: str = ""
    charge_symbol: ClassVar[str | None] = None

    def __init_subclass__(cls, by_name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if by_name is not None:
            _REGISTRY[by_name] = cls

    # ------------------------------------------------------------- by name
    @classmethod
    def from_config(
        cls,
        config_shape: tuple[int, ...],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Any:
        """The group of this class that fits configurations of shape ``config_shape``.

        Implemented by the groups registered for :meth:`by_name`.

        Raises
        ------
        ValueError
            The shape does not fit, or a needed parameter (boost masses) is missing.
        """
        raise NotImplementedError(f"{cls.__name__} cannot be built from a configuration shape")

    @staticmethod
    def registered_names() -> list[str]:
        """Names accepted by :meth:`by_name`, in registration order."""
        return list(_REGISTRY)

    @staticmethod
    def by_name(
        name: str,
        config_shape: Sequence[int],
        *,
        masses: Any = None,
        infer_masses: Callable[[], Any] | None = None,
    ) -> Any:
        """The built-in group called ``name`` for configurations of shape ``config_shape``.

        Parameters
        ----------
        name : str
            ``"translation"``, ``"rotation"``, ``"time"``, ``"boost"``,
            ``"permutation"`` (or a name registered by a subclass).
        config_shape : sequence of int
            ``S``; particle groups take their dimension ``d`` from ``S = (N, d)``.
        masses : float or Tensor, optional
            Particle masses for a boost.
        infer_masses : callable, optional
            Called to read the masses when a boost needs them and ``masses`` is None.

        Raises
        ------
        ValueError
            Unknown name, a shape that does not fit, or a boost without masses.

        Examples
        --------
        >>> from symnet.groups import Group
        >>> Group.by_name("rotation", (4, 3))
        Rotation(3)
        """
        if name not in _REGISTRY:
            raise ValueError(f"unknown group {name!r}; expected one of {', '.join(_REGISTRY)}")
        shape = tuple(int(s) for s in config_shape)
        return _REGISTRY[name].from_config(shape, masses=masses, infer_masses=infer_masses)

    # ------------------------------------------------------------- charges
    def charge_label(self, generator: str | Generator) -> str:
        """A short name of a generator's Noether charge: ``P_x``, ``L_z``, ``K_x``, ``J[name]``.

        Parameters
        ----------
        generator : str or Generator
            A generator of this group (or its name).
        """
        name = generator.name if isinstance(generator, Generator) else generator
        if self.charge_symbol is None:
            return f"J[{name}]"
        prefix = self.name + "_"
        suffix = name[len(prefix) :] if name.startswith(prefix) else ""
        return f"{self.charge_symbol}_{suffix}" if suffix else self.charge_symbol
