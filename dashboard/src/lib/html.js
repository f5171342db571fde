// htm bound to preact: components written as tagged templates, no JSX build step.
import { h, render, Fragment } from "preact";
import htm from "htm";

export const html = htm.bind(h);
export { h, render, Fragment };
export { useState, useEffect, useLayoutEffect, useMemo, useRef, useCallback, useContext } from "preact/hooks";
