// The war room's sign-in: the key goes in a JSON body, comes back as an HttpOnly cookie.
if (!window.isSecureContext) {
  document.getElementById("problem").textContent =
    "This page is not served over HTTPS: the browser will not keep the session.";
}
document.getElementById("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = document.getElementById("reviewer").value.trim();
  const key = document.getElementById("key").value;
  const body = name ? {reviewer: name, key: key} : {admin_key: key};
  const response = await fetch("/war-room/session", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body), credentials: "same-origin"});
  document.getElementById("key").value = "";
  if (response.status === 204) { location.reload(); return; }
  let problem = response.statusText;
  try { problem = (await response.json()).title; } catch (error) {}
  document.getElementById("problem").textContent = problem;
});
