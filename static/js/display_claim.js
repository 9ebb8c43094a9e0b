// The wall display's link page: exchange the link for the display cookie at once, so that a
// screen opened from the link starts without anyone pressing the button.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("display-claim");
  if (form) form.submit();
});
