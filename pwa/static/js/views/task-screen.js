// The frame of a screen about one task (a pick, a count, a return, an order to pack): the
// scanning screen with a way back, the task's card under a brief message, and what covers the
// screen when it must be answered first: a sheet of choices, the red blocker after a refusal.

import { h } from "../dom.js";
import { signal } from "../feedback.js";
import { REPLAYED_EVENT } from "../offline.js";
import { cameraErrorIn, oneAtATime, rejection, scanningScreen } from "./scanning-screen.js";

/**
 * Build a task screen in `root`: the rest of the options (`title`, `session`, `onSignOut`,
 * `actions`, `back`, `contentId`) go to scanningScreen. `card` ({id, class, loading}) is the
 * article the view fills once the task is in, saying `loading` until then; `messageId` names
 * the message above it; `sheet` ({id, class}), if given, is a dialog kept hidden until the view
 * fills and shows it; `overlays` are more elements over the screen (a blocker). Scans go to
 * `onScan` one at a time, in the order they were read; `inTurn` is that queue, for the view's
 * other steps. `afterReplay`, if given, runs in that queue whenever the offline queue has been
 * replayed (to show the task as the server now has it). Returns {card, message, sheet, inTurn,
 * destroy}; destroy also removes the sheet and the overlays and stops following replays.
 */
export function taskScreen(root, {
  card: { id: cardId, class: cardClass, loading },
  messageId,
  sheet: sheetAttributes = null,
  overlays = [],
  onScan,
  afterReplay = null,
  ...frame
}) {
  const inTurn = oneAtATime();
  const card = h("article", { class: cardClass, id: cardId }, h("p", { class: "pending" }, loading));
  const message = h("div", { class: "scan-message brief", id: messageId });
  const sheet = sheetAttributes
    ? h("div", { class: sheetAttributes.class, id: sheetAttributes.id, role: "dialog", "aria-modal": "true", hidden: true })
    : null;

  const screen = scanningScreen(root, {
    ...frame,
    onScan: (scan) => inTurn(() => onScan(scan)),
    onCameraError: cameraErrorIn(message),
  });
  screen.content.append(message, card);
  const covers = [sheet, ...overlays].filter(Boolean);
  root.append(...covers);
  const onReplayed = () => inTurn(afterReplay);
  if (afterReplay) window.addEventListener(REPLAYED_EVENT, onReplayed);

  return {
    card,
    message,
    sheet,
    inTurn,
    destroy() {
      window.removeEventListener(REPLAYED_EVENT, onReplayed);
      screen.destroy();
      covers.forEach((cover) => cover.remove());
    },
  };
}

/**
 * What covers the screen, red, after a refusal until Continue is tapped: the unit in hand must
 * not go in with the others. `block(text, code, {scan, feedback, title})` shows the refusal
 * (under `title`, if given) and makes it felt; `blocked` is true until Continue.
 */
export function refusalBlocker() {
  const continueButton = h("button", { type: "button", class: "big", id: "dismiss" }, "Continue");
  const element = h("div", { class: "blocker", id: "blocker", role: "alertdialog", "aria-modal": "true", hidden: true });
  continueButton.addEventListener("click", () => {
    element.hidden = true;
  });

  return {
    element,
    get blocked() {
      return !element.hidden;
    },
    block(text, code, { scan = null, feedback = "error", title = null } = {}) {
      element.replaceChildren(...[
        title ? h("p", { class: "flag-title", id: "flag-title" }, title) : null,
        rejection(text, code, scan),
        continueButton,
      ].filter(Boolean));
      element.hidden = false;
      signal(feedback);
    },
  };
}
